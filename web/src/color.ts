// Colours come from other people's browsers (presence, the authors map, chat): only plain colour
// notations are used, so a crafted value can never add CSS (a url() that leaks readers' addresses).
const SAFE = /^(#[0-9a-f]{3,8}|hsl\(\d{1,3}(\.\d+)? \d{1,3}(\.\d+)?% \d{1,3}(\.\d+)?%\)|rgb\(\d{1,3}, ?\d{1,3}, ?\d{1,3}\))$/i

export function safeColor (value: unknown, fallback = '#888888'): string {
  return typeof value === 'string' && SAFE.test(value) ? value : fallback
}
