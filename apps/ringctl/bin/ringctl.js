#!/usr/bin/env node
// ringctl: the Ringstore command-line tool. Build first (npm run build); the code lives in dist/.
import '../dist/main.js';
