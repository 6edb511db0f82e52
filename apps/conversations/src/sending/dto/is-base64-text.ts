import { ValidateBy, buildMessage, type ValidationOptions } from 'class-validator';

const A = 0x41;
const Z = 0x5a;
const a = 0x61;
const z = 0x7a;
const ZERO = 0x30;
const NINE = 0x39;
const PLUS = 0x2b;
const SLASH = 0x2f;
const PAD = 0x3d;

/**
 * Standard base64 with padding (what validator's isBase64 accepts), checked in one pass without a regular expression.
 * validator's `/^[A-Za-z0-9+/]+={0,2}$/` runs in V8's backtracking regexp engine, which can throw "RangeError: Maximum
 * call stack size exceeded" on a multi-MB attachment: the valid send was then answered 500 (issue 7, ATT-1).
 */
export function isBase64Text(value: string): boolean {
  if (value.length % 4 !== 0) return false;
  let end = value.length;
  // Up to two '=' of padding, and only at the end.
  for (let pad = 0; pad < 2 && end > 0 && value.charCodeAt(end - 1) === PAD; pad++) end--;
  if (end === 0) return value.length === 0;
  for (let i = 0; i < end; i++) {
    const c = value.charCodeAt(i);
    const ok =
      (c >= A && c <= Z) || (c >= a && c <= z) || (c >= ZERO && c <= NINE) || c === PLUS || c === SLASH;
    if (!ok) return false;
  }
  return true;
}

/** class-validator's @IsBase64, without its regular expression (see {@link isBase64Text}). */
export function IsBase64Text(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isBase64',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && isBase64Text(value),
        defaultMessage: buildMessage((each) => `${each}$property must be base64 encoded`, options),
      },
    },
    options,
  );
}
