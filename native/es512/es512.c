// ES512 (ECDSA P-521 with SHA-512) signing against the system's libcrypto.so.3.
//
// Why: Node's bundled OpenSSL is built without the optimised 64-bit nistp521 code, so its
// P-521 signatures are several times slower than the distribution's libcrypto, which has it.
//
// How it avoids Node's own OpenSSL: the node binary exports OpenSSL symbols, so linking
// -lcrypto would bind some calls to Node's copy and some to the system's. Instead the
// library is opened with RTLD_LOCAL | RTLD_DEEPBIND (its internal references resolve inside
// itself first) and every function is taken through dlsym into a pointer whose type comes
// from the OpenSSL headers, so this object file has no undefined OpenSSL symbol at all
// (test/unit/es512-native.test.ts checks that with nm).
//
// What JavaScript sees (src/keys/native-signer.ts wraps it):
//   version()                 the system library's version text
//   importKey(pkcs8Der)       a handle (tagged external) owning one EVP_PKEY, freed when
//                             the handle is garbage-collected; P-521 keys only
//   publicKey(handle)         the uncompressed point 04||x||y (133 bytes) OpenSSL derived
//   sign(handle, data)        Promise<Buffer> of JOSE r||s (132 bytes); runs on the libuv
//                             thread pool, never on the event loop
//   verify(handle, data, sig) boolean; for the known-answer check at load
//   signatures()              how many signatures this process made here
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <node_api.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#define COORD 66          // bytes of a P-521 coordinate, scalar, r or s
#define RAW_SIG (2 * COORD)
#define POINT (1 + 2 * COORD)

// Every libcrypto function used, as a typed pointer filled by dlsym.
#define FUNCTIONS(X)                                                                           \
  X(OpenSSL_version) X(OPENSSL_version_major) X(ERR_get_error)              \
  X(ERR_error_string_n) X(ERR_clear_error) X(d2i_AutoPrivateKey) X(EVP_PKEY_free)              \
  X(EVP_PKEY_up_ref) X(EVP_PKEY_get_base_id) X(EVP_PKEY_get_group_name)                        \
  X(EVP_PKEY_get_octet_string_param) X(EVP_MD_fetch) X(EVP_MD_CTX_new) X(EVP_MD_CTX_free)      \
  X(EVP_DigestSignInit) X(EVP_DigestSign) X(EVP_DigestVerifyInit) X(EVP_DigestVerify)          \
  X(d2i_ECDSA_SIG) X(i2d_ECDSA_SIG) X(ECDSA_SIG_new) X(ECDSA_SIG_free) X(ECDSA_SIG_get0)        \
  X(ECDSA_SIG_set0) X(BN_bn2binpad) X(BN_bin2bn) X(BN_free)

#define DECLARE(name) static __typeof__(name) *p_##name;
FUNCTIONS(DECLARE)

static EVP_MD *sha512;
static char load_error[512];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static atomic_ullong signature_count;

// Marks the externals this addon made, so a foreign external is refused, not dereferenced.
static const napi_type_tag KEY_TAG = {0x7f3c9a2e51d84b06ULL, 0xa41e6f0c2b9d7e35ULL};

static void load_libcrypto(void) {
  void *lib = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (!lib) {
    snprintf(load_error, sizeof load_error, "cannot open the system libcrypto.so.3: %s", dlerror());
    return;
  }
#define RESOLVE(name)                                                                          \
  p_##name = (__typeof__(name) *)dlsym(lib, #name);                                            \
  if (!p_##name) {                                                                             \
    snprintf(load_error, sizeof load_error, "libcrypto.so.3 lacks %s", #name);                 \
    return;                                                                                    \
  }
  FUNCTIONS(RESOLVE)
  if (p_OPENSSL_version_major() != 3) {
    snprintf(load_error, sizeof load_error, "libcrypto.so.3 reports major version %u, not 3", p_OPENSSL_version_major());
    return;
  }
  // Fetched once: an EVP_MD is safe to share between threads, and fetching per signature
  // would take the library's method-store lock every time.
  sha512 = p_EVP_MD_fetch(NULL, "SHA512", NULL);
  if (!sha512) snprintf(load_error, sizeof load_error, "libcrypto.so.3 has no SHA512");
}

// The oldest queued OpenSSL error as text (or `fallback`), and the thread's queue emptied.
static void openssl_error(char *out, size_t size, const char *fallback) {
  unsigned long code = p_ERR_get_error();
  if (code) {
    p_ERR_error_string_n(code, out, size);
  } else {
    snprintf(out, size, "%s", fallback);
  }
  p_ERR_clear_error();
}

static napi_value throw_error(napi_env env, const char *message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

static napi_value throw_type_error(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

// ---- arguments -------------------------------------------------------------------------

static int buffer_arg(napi_env env, napi_value value, void **data, size_t *len) {
  bool is_buffer = false;
  if (napi_is_buffer(env, value, &is_buffer) != napi_ok || !is_buffer) return 0;
  return napi_get_buffer_info(env, value, data, len) == napi_ok;
}

static EVP_PKEY *key_arg(napi_env env, napi_value value) {
  napi_valuetype type;
  bool tagged = false;
  void *pkey = NULL;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external) return NULL;
  if (napi_check_object_type_tag(env, value, &KEY_TAG, &tagged) != napi_ok || !tagged) return NULL;
  if (napi_get_value_external(env, value, &pkey) != napi_ok) return NULL;
  return pkey;
}

// ---- signing and verifying (no Node-API calls: these run on pool threads) ---------------

static int sign_raw(EVP_PKEY *pkey, const unsigned char *data, size_t len, unsigned char out[RAW_SIG], char *err, size_t err_size) {
  unsigned char der[256];
  size_t der_len = sizeof der;
  int ok = 0;
  ECDSA_SIG *sig = NULL;
  EVP_MD_CTX *ctx = p_EVP_MD_CTX_new();
  if (ctx && p_EVP_DigestSignInit(ctx, NULL, sha512, NULL, pkey) == 1 && p_EVP_DigestSign(ctx, der, &der_len, data, len) == 1) {
    const unsigned char *cursor = der;
    sig = p_d2i_ECDSA_SIG(NULL, &cursor, (long)der_len);
  }
  if (sig) {
    // JOSE (RFC 7518 §3.4): r and s as fixed-width big-endian, left-padded with zeros.
    const BIGNUM *r = NULL, *s = NULL;
    p_ECDSA_SIG_get0(sig, &r, &s);
    ok = p_BN_bn2binpad(r, out, COORD) == COORD && p_BN_bn2binpad(s, out + COORD, COORD) == COORD;
  }
  if (!ok) openssl_error(err, err_size, "ECDSA signing failed");
  p_ECDSA_SIG_free(sig);
  p_EVP_MD_CTX_free(ctx);
  return ok;
}

static int verify_raw(EVP_PKEY *pkey, const unsigned char *data, size_t len, const unsigned char raw[RAW_SIG]) {
  int ok = 0;
  unsigned char der[256];
  ECDSA_SIG *sig = p_ECDSA_SIG_new();
  BIGNUM *r = p_BN_bin2bn(raw, COORD, NULL);
  BIGNUM *s = p_BN_bin2bn(raw + COORD, COORD, NULL);
  if (sig && r && s && p_ECDSA_SIG_set0(sig, r, s) == 1) {
    r = s = NULL; // owned by sig now
    unsigned char *cursor = der;
    int der_len = p_i2d_ECDSA_SIG(sig, NULL);
    der_len = der_len > 0 && der_len <= (int)sizeof der ? p_i2d_ECDSA_SIG(sig, &cursor) : -1;
    EVP_MD_CTX *ctx = p_EVP_MD_CTX_new();
    ok = der_len > 0 && ctx && p_EVP_DigestVerifyInit(ctx, NULL, sha512, NULL, pkey) == 1 &&
         p_EVP_DigestVerify(ctx, der, (size_t)der_len, data, len) == 1;
    p_EVP_MD_CTX_free(ctx);
  }
  p_BN_free(r);
  p_BN_free(s);
  p_ECDSA_SIG_free(sig);
  p_ERR_clear_error();
  return ok;
}

// ---- exported functions ------------------------------------------------------------------

static napi_value version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_create_string_utf8(env, p_OpenSSL_version(OPENSSL_VERSION), NAPI_AUTO_LENGTH, &result);
  return result;
}

static napi_value signatures(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_create_double(env, (double)atomic_load(&signature_count), &result);
  return result;
}

static void free_key(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  p_EVP_PKEY_free(data);
}

static napi_value import_key(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *der;
  size_t der_len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !buffer_arg(env, argv[0], &der, &der_len)) {
    return throw_type_error(env, "importKey(pkcs8Der: Buffer)");
  }
  // Read in place: no copy of the private key is made here (the caller zeroes its buffer).
  const unsigned char *cursor = der;
  EVP_PKEY *pkey = p_d2i_AutoPrivateKey(NULL, &cursor, (long)der_len);
  char message[256];
  if (!pkey) {
    openssl_error(message, sizeof message, "not a private key");
    return throw_error(env, message);
  }
  char group[64] = "";
  size_t group_len = 0;
  if (p_EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC || p_EVP_PKEY_get_group_name(pkey, group, sizeof group, &group_len) != 1 ||
      strcmp(group, "secp521r1") != 0) {
    p_EVP_PKEY_free(pkey);
    p_ERR_clear_error();
    return throw_error(env, "not a P-521 (secp521r1) key");
  }
  napi_value handle;
  if (napi_create_external(env, pkey, free_key, NULL, &handle) != napi_ok) {
    p_EVP_PKEY_free(pkey);
    return throw_error(env, "cannot create the key handle");
  }
  napi_type_tag_object(env, handle, &KEY_TAG);
  return handle;
}

static napi_value public_key(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  EVP_PKEY *pkey = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !(pkey = key_arg(env, argv[0]))) {
    return throw_type_error(env, "publicKey(handle)");
  }
  unsigned char point[POINT];
  size_t len = 0;
  if (p_EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, sizeof point, &len) != 1 || len != POINT) {
    p_ERR_clear_error();
    return throw_error(env, "cannot read the public point");
  }
  napi_value result;
  napi_create_buffer_copy(env, len, point, NULL, &result);
  return result;
}

static napi_value verify(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  EVP_PKEY *pkey = NULL;
  void *data, *sig;
  size_t len, sig_len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 || !(pkey = key_arg(env, argv[0])) ||
      !buffer_arg(env, argv[1], &data, &len) || !buffer_arg(env, argv[2], &sig, &sig_len)) {
    return throw_type_error(env, "verify(handle, data: Buffer, signature: Buffer)");
  }
  napi_value result;
  napi_get_boolean(env, sig_len == RAW_SIG && verify_raw(pkey, data, len, sig), &result);
  return result;
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  EVP_PKEY *pkey; // one reference of its own, so collecting the handle cannot free it mid-sign
  unsigned char *data;
  size_t len;
  unsigned char sig[RAW_SIG];
  char error[256];
  int ok;
} sign_job;

static void sign_execute(napi_env env, void *opaque) {
  (void)env;
  sign_job *job = opaque;
  job->ok = sign_raw(job->pkey, job->data, job->len, job->sig, job->error, sizeof job->error);
  if (job->ok) atomic_fetch_add(&signature_count, 1);
}

static void sign_complete(napi_env env, napi_status status, void *opaque) {
  sign_job *job = opaque;
  napi_value value;
  if (status == napi_ok && job->ok) {
    napi_create_buffer_copy(env, RAW_SIG, job->sig, NULL, &value);
    napi_resolve_deferred(env, job->deferred, value);
  } else {
    napi_value message;
    napi_create_string_utf8(env, job->ok ? "signing was cancelled" : job->error, NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &value);
    napi_reject_deferred(env, job->deferred, value);
  }
  napi_delete_async_work(env, job->work);
  p_EVP_PKEY_free(job->pkey);
  free(job->data);
  free(job);
}

static napi_value sign(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  EVP_PKEY *pkey = NULL;
  void *data;
  size_t len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || !(pkey = key_arg(env, argv[0])) ||
      !buffer_arg(env, argv[1], &data, &len)) {
    return throw_type_error(env, "sign(handle, data: Buffer)");
  }
  sign_job *job = calloc(1, sizeof *job);
  // The bytes are copied: the caller's buffer may change or be collected while a pool
  // thread signs. They are the JWS signing input, nothing secret.
  if (!job || !(job->data = malloc(len ? len : 1))) {
    free(job);
    return throw_error(env, "out of memory");
  }
  memcpy(job->data, data, len);
  job->len = len;
  p_EVP_PKEY_up_ref(pkey);
  job->pkey = pkey;
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "postern:es512-sign", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, sign_execute, sign_complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    napi_value err;
    napi_create_string_utf8(env, "cannot queue the signature", NAPI_AUTO_LENGTH, &name);
    napi_create_error(env, NULL, name, &err);
    napi_reject_deferred(env, job->deferred, err);
    p_EVP_PKEY_free(pkey);
    free(job->data);
    free(job);
  }
  return promise;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  pthread_once(&load_once, load_libcrypto);
  if (load_error[0]) return throw_error(env, load_error);
  napi_property_descriptor props[] = {
      {"version", NULL, version, NULL, NULL, NULL, napi_enumerable, NULL},
      {"signatures", NULL, signatures, NULL, NULL, NULL, napi_enumerable, NULL},
      {"importKey", NULL, import_key, NULL, NULL, NULL, napi_enumerable, NULL},
      {"publicKey", NULL, public_key, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sign", NULL, sign, NULL, NULL, NULL, napi_enumerable, NULL},
      {"verify", NULL, verify, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
