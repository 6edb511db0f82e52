/**
 * The keys an object in a JSON text repeats (`JSON.parse` silently keeps the last value; Elasticsearch and OpenSearch
 * reject or mangle such documents). A small tokenizer over one JSON value; throws on a text that is not JSON.
 */
export function duplicateJsonKeys(text: string): string[] {
  JSON.parse(text); // validity first: the walk below assumes well-formed input
  const duplicates: string[] = [];
  const stack: Array<Set<string> | null> = []; // a Set per open object, null per open array
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.has(key)) duplicates.push(key);
        top.add(key);
        expectKey = false;
      }
      i = j;
    } else if (ch === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (ch === '[') {
      stack.push(null);
    } else if (ch === '}' || ch === ']') {
      stack.pop();
    } else if (ch === ',') {
      expectKey = stack[stack.length - 1] instanceof Set;
    }
  }
  return duplicates;
}
