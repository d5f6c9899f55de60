// vscode-tokenize.cjs tokenizes lines with VS Code's own TextMate engine
// (vscode-textmate on vscode-oniguruma), for vscodetextmate_test.go.
//
// Usage: node vscode-tokenize.cjs GRAMMAR.json < lines.json > tokens.json
// Input: a JSON array of lines. Output: a JSON array with, for each line,
// its tokens as [start, end, [scopes...]], offsets in UTF-16 code units.
// Each line is tokenized from the initial state: the sockc grammar is flat,
// so no state carries from one line to the next. NODE_PATH must reach the
// two npm packages.
'use strict';

const fs = require('fs');
const path = require('path');
const vsctm = require('vscode-textmate');
const onig = require('vscode-oniguruma');

async function main() {
	const grammarPath = process.argv[2];
	const wasm = fs.readFileSync(path.join(path.dirname(require.resolve('vscode-oniguruma')), 'onig.wasm'));
	await onig.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
	const registry = new vsctm.Registry({
		onigLib: Promise.resolve({
			createOnigScanner: (patterns) => new onig.OnigScanner(patterns),
			createOnigString: (s) => new onig.OnigString(s),
		}),
		loadGrammar: async () => vsctm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath),
	});
	const grammar = await registry.loadGrammar('source.sockc');
	if (!grammar) {
		throw new Error('vscode-textmate loaded no grammar from ' + grammarPath);
	}
	const lines = JSON.parse(fs.readFileSync(0, 'utf8'));
	const out = lines.map((line) =>
		grammar.tokenizeLine(line, vsctm.INITIAL).tokens.map((tok) => [tok.startIndex, Math.min(tok.endIndex, line.length), tok.scopes]));
	process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
	process.stderr.write(String(err && err.stack || err) + '\n');
	process.exit(1);
});
