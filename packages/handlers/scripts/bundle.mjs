// Placeholder until the handlers land: the bundler is written with the handlers (issue 3).
console.log('handlers: no bundles yet');
