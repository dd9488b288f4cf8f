// Parses schemas/asyncapi.yaml with the AsyncAPI parser (@asyncapi/parser, installed into
// .cache/interop/npm by deploy/local/interop-deps.sh). Any diagnostic of severity error fails;
// warnings and hints are printed on stderr. On success prints the resolved document as JSON on
// stdout (coverage.py compares it with the records the bridge wrote).
//
// Usage: node validate.cjs ASYNCAPI_YAML
'use strict';
const path = require('path');
const { Parser, fromFile, DiagnosticSeverity } = require('@asyncapi/parser');

async function main() {
  const file = path.resolve(process.argv[2]);
  const parser = new Parser();
  const { document, diagnostics } = await fromFile(parser, file).parse({
    source: file,
    validateOptions: { allowedSeverity: { warning: true, info: true, hint: true } },
  });
  const severityName = ['error', 'warning', 'info', 'hint'];
  let failed = !document;
  for (const d of diagnostics) {
    failed ||= d.severity === DiagnosticSeverity.Error;
    console.error(`asyncapi: ${severityName[d.severity]}: ${d.code}: ${d.message} at ${(d.path || []).join('/')}`);
  }
  if (failed) {
    console.error(`asyncapi: ${file} did not pass the AsyncAPI parser`);
    process.exit(1);
  }
  process.stdout.write(JSON.stringify(document.json()));
}

main().catch((error) => {
  console.error(`asyncapi: ${error.stack || error}`);
  process.exit(1);
});
