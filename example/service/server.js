// The example service: answers with its build info. It needs no CA at run time: the release image trusts only
// its own public roots, whatever the build machine's network did.
const http = require('node:http');
const ms = require('ms');
const info = require('./build-info.json');

const started = Date.now();
http
  .createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ...info, up: ms(Date.now() - started) }) + '\n');
  })
  .listen(Number(process.env.PORT ?? 8080));
