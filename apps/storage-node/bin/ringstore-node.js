#!/usr/bin/env node
// Runs the compiled daemon (built by `npm install` / `npm run build` at the repository root).
import '../dist/main.js';
