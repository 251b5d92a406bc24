// Aliyun's official RPC client signing what hotline signed.
//
//   node check.js sign ACCESS_KEY_ID ACCESS_KEY_SECRET
//       stdin: the request's parameters as a JSON object (Signature left out). Prints the
//       Signature @alicloud/pop-core gives a POST of them: it sends the request to a local
//       server of this script, which reads the signature off the form.
'use strict';
const http = require('http');
const RPCClient = require('@alicloud/pop-core').RPCClient;

async function stdin() {
  let raw = '';
  for await (const chunk of process.stdin) raw += chunk;
  return JSON.parse(raw);
}

async function sign(accessKeyId, accessKeySecret) {
  const params = await stdin();
  let signature;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      signature = new URLSearchParams(body).get('Signature');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ Code: 'OK', BizId: '1^0', Message: 'OK', RequestId: 'x' }));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const client = new RPCClient({
    accessKeyId,
    accessKeySecret,
    endpoint: `http://127.0.0.1:${server.address().port}`,
    apiVersion: '2017-05-25',
  });
  const { Action, ...rest } = params;
  await client.request(Action, rest, { method: 'POST', formatParams: false });
  server.close();
  console.log(signature);
}

const [command, ...args] = process.argv.slice(2);
({ sign: () => sign(...args) })[command]().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
