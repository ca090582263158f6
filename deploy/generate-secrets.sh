#!/bin/sh
# Writes the random secrets docker-compose.production.yml mounts, into deploy/secrets/,
# once: an existing file is kept (a new KEY_ENCRYPTION_KEY would make every stored key
# unreadable). Back the directory up somewhere safe; it is never committed (.gitignore).
# The SMTP URL is yours to write: deploy/secrets/smtp_url.
set -eu
cd "$(dirname "$0")/secrets"
chmod 700 .

# Readable inside the containers (they run as other users) but, with the directory at 700,
# by nobody else on this machine.
write() {
  if [ -e "$1" ]; then echo "kept  deploy/secrets/$1"; return; fi
  printf '%s\n' "$2" > "$1"
  chmod 444 "$1"
  echo "wrote deploy/secrets/$1"
}

write admin_token "$(openssl rand -base64 32)"
write cookie_secrets "$(openssl rand -base64 32)"
write key_encryption_key "$(openssl rand -hex 32)"
write metrics_token "$(openssl rand -base64 32)"

if [ ! -e redis_url ]; then
  redis_password=$(openssl rand -hex 32)
  rm -f redis_conf
  write redis_conf "requirepass $redis_password"
  write redis_url "redis://:$redis_password@redis:6379"
fi
if [ ! -e mongodb_uri ]; then
  mongo_password=$(openssl rand -hex 32)
  rm -f mongo_password
  write mongo_password "$mongo_password"
  write mongodb_uri "mongodb://postern:$mongo_password@mongo:27017/postern?authSource=admin"
fi

[ -e smtp_url ] || echo "still to do: write your SMTP server's URL to deploy/secrets/smtp_url (e.g. smtp://user:pass@smtp.example.com:587)"
