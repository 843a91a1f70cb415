/**
 * Where JSON.parse gave up. V8 names the position for some syntax errors ("... at position 8")
 * but not for others ("Unexpected token 'o', ... is not valid JSON"), so when parsing fails we
 * scan the text once more with this small RFC 8259 recogniser to find the first offending
 * character. Iterative (an explicit stack), linear, and only run on documents already refused.
 */

type Expect = 'value' | 'value-or-end' | 'key' | 'key-or-end' | 'colon' | 'comma-or-end' | 'eof';

const NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4_RE = /^[0-9a-fA-F]{4}$/;

/** Offset of the first syntax error in `s`, or -1 if `s` is valid JSON. */
export function jsonErrorOffset(s: string): number {
  const stack: Array<'{' | '['> = [];
  let expect: Expect = 'value';
  let i = 0;

  /** At a `"`: moves past the string; false (with `i` at the culprit) if it is malformed. */
  const string = (): boolean => {
    for (i++; i < s.length;) {
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return true;
      }
      if (c < 0x20) return false;
      if (c !== 0x5c) {
        i++;
        continue;
      }
      const e = s.charAt(i + 1);
      if (e === 'u' && HEX4_RE.test(s.slice(i + 2, i + 6))) i += 6;
      else if (e !== '' && '"\\/bfnrt'.includes(e)) i += 2;
      else return false;
    }
    return false;
  };
  /** What may follow a complete value. */
  const afterValue = (): Expect => (stack.length === 0 ? 'eof' : 'comma-or-end');

  for (;;) {
    while (i < s.length && ' \t\n\r'.includes(s.charAt(i))) i++;
    if (i >= s.length) return expect === 'eof' ? -1 : i;
    const c = s.charAt(i);
    switch (expect) {
      case 'eof':
        return i;
      case 'colon':
        if (c !== ':') return i;
        i++;
        expect = 'value';
        break;
      case 'key-or-end':
      case 'key':
        if (expect === 'key-or-end' && c === '}') {
          stack.pop();
          i++;
          expect = afterValue();
          break;
        }
        if (c !== '"' || !string()) return i;
        expect = 'colon';
        break;
      case 'comma-or-end': {
        const top = stack[stack.length - 1];
        if (c === ',') {
          i++;
          expect = top === '{' ? 'key' : 'value';
        } else if ((c === '}' && top === '{') || (c === ']' && top === '[')) {
          stack.pop();
          i++;
          expect = afterValue();
        } else {
          return i;
        }
        break;
      }
      case 'value':
      case 'value-or-end':
        if (expect === 'value-or-end' && c === ']') {
          stack.pop();
          i++;
          expect = afterValue();
        } else if (c === '{' || c === '[') {
          stack.push(c);
          i++;
          expect = c === '{' ? 'key-or-end' : 'value-or-end';
        } else if (c === '"') {
          if (!string()) return i;
          expect = afterValue();
        } else if (c === '-' || (c >= '0' && c <= '9')) {
          NUMBER_RE.lastIndex = i;
          if (!NUMBER_RE.exec(s)) return i;
          i = NUMBER_RE.lastIndex;
          expect = afterValue();
        } else {
          const literal = ['true', 'false', 'null'].find((l) => s.startsWith(l, i));
          if (!literal) return i;
          i += literal.length;
          expect = afterValue();
        }
        break;
    }
  }
}
