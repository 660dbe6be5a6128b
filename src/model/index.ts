export * from './errors.js';
export * from './resources.js';
export * from './selector.js';
export * from './state.js';
export * from './secrets.js';
export * from './version.js';
export * from './window.js';
export * from './sleep.js';
