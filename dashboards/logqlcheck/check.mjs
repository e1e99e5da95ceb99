// Parses LogQL queries with Grafana's LogQL grammar and reports the ones
// with syntax errors. Input: a JSON array of strings on stdin. Output: a JSON
// array with, for each query, null or the position and text of its first
// error.
import { parser } from "@grafana/lezer-logql";

let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;

const results = JSON.parse(input).map((query) => {
  const tree = parser.parse(query);
  let error = null;
  tree.iterate({
    enter(node) {
      if (error === null && node.type.isError) {
        error = { at: node.from, near: query.slice(Math.max(0, node.from - 10), node.to + 10) };
      }
    },
  });
  return error;
});
process.stdout.write(JSON.stringify(results));
