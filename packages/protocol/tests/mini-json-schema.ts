// A small JSON Schema (draft 2020-12) validator for the keywords our emitted files use, so the tests
// can check real frames against the shipped schemas without adding a dependency (ajv). It refuses
// any keyword it does not know, so a schema using more than it understands fails loudly.

export type Schema = boolean | SchemaObject;

interface SchemaObject {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: Schema;
  propertyNames?: Schema;
  minProperties?: number;
  maxProperties?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  if?: Schema;
  then?: Schema;
  else?: Schema;
}

const ANNOTATIONS = new Set(['$schema', '$id', 'title', 'description', 'default', 'examples', 'deprecated']);
const KEYWORDS = new Set([
  'type',
  'const',
  'enum',
  'properties',
  'required',
  'additionalProperties',
  'propertyNames',
  'minProperties',
  'maxProperties',
  'minLength',
  'maxLength',
  'pattern',
  'items',
  'minItems',
  'maxItems',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'oneOf',
  'anyOf',
  'allOf',
  'if',
  'then',
  'else',
]);

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function matchesType(value: unknown, type: string): boolean {
  if (type === 'integer') return Number.isInteger(value);
  return typeOf(value) === type;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The errors of `value` against `schema`: an empty list when it is valid. */
export function validate(schema: Schema, value: unknown, path = '$'): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${path}: no value is allowed here`];
  const errors: string[] = [];
  for (const key of Object.keys(schema)) {
    if (!KEYWORDS.has(key) && !ANNOTATIONS.has(key))
      throw new Error(`mini-json-schema: unsupported keyword ${key}`);
  }
  const s = schema;
  if (s.type !== undefined) {
    const types: string[] = Array.isArray(s.type) ? s.type : [s.type];
    if (!types.some((type) => matchesType(value, type))) return [`${path}: expected ${types.join('|')}`];
  }
  if ('const' in s && !deepEqual(value, s.const)) errors.push(`${path}: expected ${JSON.stringify(s.const)}`);
  if (s.enum && !s.enum.some((option: unknown) => deepEqual(option, value)))
    errors.push(`${path}: not in enum`);
  if (typeof value === 'string') {
    const length = [...value].length; // code points, as JSON Schema counts
    if (s.minLength !== undefined && length < s.minLength)
      errors.push(`${path}: shorter than ${s.minLength}`);
    if (s.maxLength !== undefined && length > s.maxLength) errors.push(`${path}: longer than ${s.maxLength}`);
    if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(value)) errors.push(`${path}: pattern`);
  }
  if (typeof value === 'number') {
    if (s.minimum !== undefined && value < s.minimum) errors.push(`${path}: below minimum`);
    if (s.maximum !== undefined && value > s.maximum) errors.push(`${path}: above maximum`);
    if (s.exclusiveMinimum !== undefined && value <= s.exclusiveMinimum)
      errors.push(`${path}: not above minimum`);
    if (s.exclusiveMaximum !== undefined && value >= s.exclusiveMaximum) {
      errors.push(`${path}: not below maximum`);
    }
  }
  if (Array.isArray(value)) {
    if (s.minItems !== undefined && value.length < s.minItems)
      errors.push(`${path}: fewer than ${s.minItems} items`);
    if (s.maxItems !== undefined && value.length > s.maxItems)
      errors.push(`${path}: more than ${s.maxItems} items`);
    if (s.items !== undefined) {
      const items = s.items;
      value.forEach((item, i) => {
        errors.push(...validate(items, item, `${path}[${i}]`));
      });
    }
  }
  if (typeOf(value) === 'object') {
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object);
    const properties = s.properties ?? {};
    for (const key of s.required ?? []) if (!(key in object)) errors.push(`${path}.${key}: required`);
    if (s.minProperties !== undefined && keys.length < s.minProperties)
      errors.push(`${path}: too few properties`);
    if (s.maxProperties !== undefined && keys.length > s.maxProperties)
      errors.push(`${path}: too many properties`);
    for (const key of keys) {
      if (s.propertyNames !== undefined) errors.push(...validate(s.propertyNames, key, `${path}{${key}}`));
      if (Object.hasOwn(properties, key))
        errors.push(...validate(properties[key] as Schema, object[key], `${path}.${key}`));
      else if (s.additionalProperties !== undefined) {
        errors.push(...validate(s.additionalProperties, object[key], `${path}.${key}`));
      }
    }
  }
  if (s.allOf) for (const sub of s.allOf) errors.push(...validate(sub, value, path));
  if (s.anyOf && !s.anyOf.some((sub) => validate(sub, value, path).length === 0))
    errors.push(`${path}: anyOf`);
  if (s.oneOf && s.oneOf.filter((sub) => validate(sub, value, path).length === 0).length !== 1) {
    errors.push(`${path}: oneOf`);
  }
  if (s.if !== undefined) {
    const branch = validate(s.if, value, path).length === 0 ? s.then : s.else;
    if (branch !== undefined) errors.push(...validate(branch, value, path));
  }
  return errors;
}
