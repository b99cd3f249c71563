#!/usr/bin/env node
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildApp } from '../src/app';

const { app, acknowledged } = buildApp();
const assembly = app.synth();
// The acknowledgements with their reasons, next to cdk-nag's validation report.
fs.writeFileSync(path.join(assembly.directory, 'nag-acknowledgements.json'), JSON.stringify(acknowledged, null, 2));
