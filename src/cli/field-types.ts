// What type a request field has, read from the server's own OpenAPI document (GET
// /admin/openapi.json): so `--set id_token_ttl=600` sends the number 600 and
// `--set require_pkce=false` the boolean, for every field the server documents, including
// fields newer than this CLI. A field the document does not describe is sent as a string.

export interface Schema {
  readonly type?: string | readonly string[];
  readonly items?: Schema;
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly $ref?: string;
  readonly oneOf?: readonly Schema[];
  readonly anyOf?: readonly Schema[];
  readonly const?: unknown;
}

interface Operation {
  readonly requestBody?: { readonly content?: Readonly<Record<string, { readonly schema?: Schema }>> };
}

type Document = { readonly paths?: Readonly<Record<string, Readonly<Record<string, Operation>>>> } & Record<string, unknown>;

/** Follows local `$ref`s (#/components/schemas/X); undefined for anything else. */
function resolve(doc: Document, schema: Schema | undefined): Schema | undefined {
  for (let depth = 0; schema?.$ref !== undefined; depth++) {
    if (depth > 10 || !schema.$ref.startsWith('#/')) return undefined;
    const target = schema.$ref
      .slice(2)
      .split('/')
      .reduce<unknown>((node, part) => (typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[part.replaceAll('~1', '/').replaceAll('~0', '~')] : undefined), doc);
    schema = typeof target === 'object' && target !== null ? (target as Schema) : undefined;
  }
  return schema;
}

/** The request body's schema of `method` on `template` (as the CLI's routes spell it), if documented. */
export function bodySchema(document: unknown, method: string, template: string): Schema | undefined {
  if (typeof document !== 'object' || document === null) return undefined;
  const doc = document as Document;
  // The document names path parameters its own way ({id}); compare the shapes.
  const shape = (path: string) => path.replace(/\{[^}]+\}/g, '{}');
  const path = Object.keys(doc.paths ?? {}).find((p) => shape(p) === shape(template));
  const operation = path === undefined ? undefined : doc.paths?.[path]?.[method.toLowerCase()];
  return resolve(doc, operation?.requestBody?.content?.['application/json']?.schema);
}

/** The schema of a (dotted) field inside a body schema, `$ref`s followed. */
export function fieldSchema(document: unknown, body: Schema | undefined, path: readonly string[]): Schema | undefined {
  let schema = body;
  for (const name of path) {
    const properties = resolve(document as Document, schema)?.properties;
    schema = properties && Object.hasOwn(properties, name) ? properties[name] : undefined;
  }
  return resolve(document as Document, schema);
}

/** The JSON types a schema allows; a union (`oneOf`/`anyOf`, e.g. a count or "single_use") allows each of its branches'. */
export function typesOf(schema: Schema | undefined): readonly string[] {
  if (schema === undefined) return [];
  if (schema.type !== undefined) return typeof schema.type === 'string' ? [schema.type] : schema.type;
  if (schema.const !== undefined) return [schema.const === null ? 'null' : typeof schema.const];
  return [...new Set([...(schema.oneOf ?? []), ...(schema.anyOf ?? [])].flatMap(typesOf))];
}
