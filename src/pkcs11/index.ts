export * from './pal/index.js';
