// Browser version of textstats' counts, used by the demo page (docs/demo.html).
// Keep the rules in step with textstats/tokenize.py.

const WORD = /[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*/g;
const SENTENCE_END = /(?<=[.!?])\s+/;

/** Lower-cased words of `text`, in order. */
export function words(text) {
  return (text.match(WORD) || []).map((word) => word.toLowerCase());
}

/** Number of sentences; a non-empty text without punctuation is one sentence. */
export function sentenceCount(text) {
  const parts = text.trim().split(SENTENCE_END).filter(Boolean);
  return parts.length || (words(text).length ? 1 : 0);
}

/** Estimate the syllables of one word, as count_syllables does in Python. */
export function syllables(word) {
  let count = (word.toLowerCase().match(/[aeiouy]+/g) || []).length;
  if (word.endsWith("e") && !/(le|ee)$/.test(word) && count > 1) {
    count -= 1;
  }
  return Math.max(count, 1);
}

/** Flesch reading ease of `text`, or null for an empty text. */
export function readingEase(text) {
  const found = words(text);
  const sentences = sentenceCount(text);
  if (!found.length || !sentences) {
    return null;
  }
  const totalSyllables = found.reduce((sum, word) => sum + syllables(word), 0);
  return 206.835 - 1.015 * (found.length / sentences) - 84.6 * (totalSyllables / found.length);
}

/** Render a live score under a textarea as the user types. */
export class LiveScore {
  constructor(input, output) {
    this.input = input;
    this.output = output;
    input.addEventListener("input", () => this.update());
  }

  update() {
    const score = readingEase(this.input.value);
    this.output.textContent = score === null ? "—" : score.toFixed(1);
  }
}
