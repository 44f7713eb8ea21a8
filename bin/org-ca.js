#!/usr/bin/env node
await import('../dist/cli/index.js');
