/** What the personal-data filter found and replaced in a document. */
export interface Redaction {
  readonly text: string;
  readonly emails: number;
  readonly phones: number;
  /** Characters of the original that were personal data. */
  readonly chars: number;
}

/** Something in a document that looks like a credential: the document is refused, never redacted. */
export interface SecretHit {
  readonly kind: string;
  readonly at: number;
}

export const EMAIL_PLACEHOLDER = '<email>';
export const PHONE_PLACEHOLDER = '<phone>';

const EMAIL = /[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+/g;
/** International (+CC …) or North-American/European grouped numbers of 9 to 15 digits. */
const PHONE = /(?<![\w.])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?)?\d{2,4}[ .-]\d{3,4}[ .-]\d{3,4}(?!\w|[.-]\d)/g;

/** Credential shapes: cloud keys, API tokens, private keys, JWTs, and long high-entropy key=value secrets. */
const SECRETS: readonly { kind: string; re: RegExp }[] = [
  { kind: 'private key', re: /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/ },
  { kind: 'AWS access key', re: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { kind: 'GitHub token', re: /\bgh[pousr]_[A-Za-z0-9]{36,}\b/ },
  { kind: 'Slack token', re: /\bxox[abprs]-[A-Za-z0-9-]{10,}\b/ },
  { kind: 'API key', re: /\bsk-[A-Za-z0-9_-]{20,}\b/ },
  { kind: 'Google API key', re: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { kind: 'JSON web token', re: /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b/ },
  { kind: 'Ethereum private key', re: /\b0x[0-9a-fA-F]{64}\b/ },
  { kind: 'credential assignment', re: /\b(?:password|passwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token)\s*[:=]\s*['"]?[A-Za-z0-9/+_=-]{12,}/i },
];

export function findSecret(text: string): SecretHit | null {
  for (const { kind, re } of SECRETS) {
    const m = re.exec(text);
    if (m !== null) return { kind, at: m.index };
  }
  return null;
}

/** Replaces e-mail addresses and phone numbers with placeholders, counting what it replaced. */
export function redactPii(text: string): Redaction {
  let chars = 0;
  let emails = 0;
  let phones = 0;
  const noEmails = text.replace(EMAIL, (m) => {
    emails++;
    chars += m.length;
    return EMAIL_PLACEHOLDER;
  });
  const out = noEmails.replace(PHONE, (m) => {
    phones++;
    chars += m.length;
    return PHONE_PLACEHOLDER;
  });
  return { text: out, emails, phones, chars };
}
