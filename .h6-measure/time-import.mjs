// Usage: node time-import.mjs <file>; prints ms for import() of the module (fresh process).
const t = performance.now()
await import(process.argv[2])
console.log((performance.now() - t).toFixed(1))
