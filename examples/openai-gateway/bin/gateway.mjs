#!/usr/bin/env node
// The example runs from the repository's TypeScript through tsx (a dev dependency of the workspace).
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
