#!/usr/bin/env node
// The `aimass` executable. Sources are TypeScript, run directly through tsx's loader: no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
