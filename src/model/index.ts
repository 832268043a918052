export * from './entities.js';
export * from './account.js';
export * from './grade.js';
export * from './hash.js';
export * from './run.js';
export * from './district-config.js';
