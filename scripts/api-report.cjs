#!/usr/bin/env node
/**
 * The public API reports (api/*.api.md), made by API Extractor from the built .d.ts files:
 *   node scripts/api-report.cjs           check: fails when the API differs from the committed report (CI)
 *   node scripts/api-report.cjs --local   update the reports after an intended API change
 * Two entry points: `imgverify` (dist/index.d.ts) and `imgverify/webhook` (dist/webhook/index.d.ts).
 * A type that a public signature names must be exported by its entry point (ae-forgotten-export is
 * an error), except that the webhook entry may name types the root entry exports: a consumer
 * imports those from 'imgverify'.
 */
'use strict';
const { join } = require('node:path');
const ts = require('typescript');
const { Extractor, ExtractorConfig } = require('@microsoft/api-extractor');

const root = join(__dirname, '..');
const local = process.argv.includes('--local');

/** The names the root entry's declarations export (types and values). */
function rootExports() {
  const file = join(root, 'dist', 'index.d.ts');
  const program = ts.createProgram([file], { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16, types: ['node'] });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  return new Set(checker.getExportsOfModule(checker.getSymbolAtLocation(source)).map((s) => s.getName()));
}

const exportedByRoot = rootExports();
let failed = false;
for (const [configFile, isWebhook] of [
  ['api-extractor.json', false],
  ['api-extractor.webhook.json', true],
]) {
  const config = ExtractorConfig.loadFileAndPrepare(join(root, configFile));
  const result = Extractor.invoke(config, {
    localBuild: local,
    showVerboseMessages: false,
    messageCallback(message) {
      if (isWebhook && message.messageId === 'ae-forgotten-export') {
        const symbol = /The symbol "([^"]+)"/.exec(message.text)?.[1]?.replace(/_\d+$/, '');
        if (symbol && exportedByRoot.has(symbol)) {
          message.logLevel = 'none';
          message.handled = true;
        }
      }
    },
  });
  if (!result.succeeded) {
    failed = true;
    console.error(
      `${configFile}: ${result.errorCount} errors, ${result.warningCount} warnings${result.apiReportChanged ? '; the API changed: review it, then run npm run api:update' : ''}`,
    );
  }
}
process.exitCode = failed ? 1 : 0;
