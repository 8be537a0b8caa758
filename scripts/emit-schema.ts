// npm run schema:emit — writes schema.graphql from the resolver classes.
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { buildApiSchema, schemaToSDL } from '../src/resolvers/schema.ts';

const target = new URL('../schema.graphql', import.meta.url);
writeFileSync(target, schemaToSDL(await buildApiSchema()));
console.log(`wrote ${target.pathname}`);
