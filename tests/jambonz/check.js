// jambonz's own packages, checking what hotline sends and accepts.
//
//   node check.js validate         stdin: one verb document (JSON) per line; each must pass
//                                  @jambonz/verb-specifications' validate(). Exit 1 naming the
//                                  first that does not.
//   node check.js verify SECRET    stdin: {"header": ..., "body": ...}; exit 0 when
//                                  @jambonz/node-client's verifyJambonzSignature accepts it.
//   node check.js serve PORT ACCOUNT_SID API_KEY
//                                  jambonz's REST API as @jambonz/node-client calls it: bearer
//                                  auth, POST/PUT under /v1/Accounts/{sid}/Calls, each body
//                                  checked by node-client's own request validators. GET
//                                  /requests lists what came; POST /refuse?n=N fails the next N.
'use strict';
const http = require('http');
const readline = require('readline');
const crypto = require('crypto');
const { validate } = require('@jambonz/verb-specifications');
const { WebhookResponse } = require('@jambonz/node-client');
const { validators } = require('@jambonz/node-client/lib/utils');

const quiet = { debug() {}, info() {}, error() {} };

async function lines() {
  const out = [];
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (line.trim()) out.push(line);
  }
  return out;
}

async function validateDocuments() {
  const docs = await lines();
  docs.forEach((line, i) => {
    try {
      validate(quiet, JSON.parse(line));
    } catch (err) {
      console.error(`document ${i + 1} is not valid jambonz: ${err.message}\n${line}`);
      process.exit(1);
    }
  });
  console.log(`${docs.length} documents valid`);
}

async function verify(secret) {
  const { header, body } = JSON.parse((await lines()).join('\n'));
  const req = { get: (name) => (name === 'Jambonz-Signature' ? header : undefined), body, url: '/' };
  try {
    WebhookResponse.verifyJambonzSignature(secret)(req, {}, () => {});
    console.log('signature accepted');
  } catch (err) {
    console.error(`signature refused: ${err.message}`);
    process.exit(1);
  }
}

function serve(port, accountSid, apiKey) {
  const requests = [];
  let refuse = 0;
  const reply = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body === undefined ? '' : JSON.stringify(body));
  };
  http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://mock');
      if (req.method === 'GET' && url.pathname === '/requests') return reply(res, 200, requests);
      if (req.method === 'POST' && url.pathname === '/refuse') {
        refuse = Number(url.searchParams.get('n') || 1);
        return reply(res, 200, {});
      }
      if (req.headers.authorization !== `Bearer ${apiKey}`) return reply(res, 401, { msg: 'unauthorized' });
      let body;
      try {
        body = raw ? JSON.parse(raw) : {};
      } catch (err) {
        return reply(res, 400, { msg: `invalid JSON: ${err.message}` });
      }
      const calls = `/v1/Accounts/${accountSid}/Calls`;
      const check = (validator) => {
        try {
          validator(body);
          return null;
        } catch (err) {
          return err.message;
        }
      };
      let error;
      let kind;
      if (req.method === 'POST' && url.pathname === calls) {
        kind = 'create_call';
        error = check(validators.Calls.create);
      } else if (req.method === 'PUT' && url.pathname.startsWith(`${calls}/`) && url.pathname.length > calls.length + 1) {
        kind = 'update_call';
        error = check(validators.Calls.update);
      } else {
        return reply(res, 404, { msg: `no such resource: ${req.method} ${url.pathname}` });
      }
      requests.push({ kind, path: url.pathname, body, error });
      if (error) return reply(res, 400, { msg: error });
      if (refuse > 0) {
        refuse -= 1;
        return reply(res, 500, { msg: 'refused by the test' });
      }
      if (kind === 'create_call') return reply(res, 201, { sid: crypto.randomUUID() });
      return reply(res, 202);
    });
  }).listen(Number(port), '127.0.0.1', () => console.log(`listening on ${port}`));
}

const [command, ...args] = process.argv.slice(2);
({ validate: validateDocuments, verify: () => verify(args[0]), serve: () => serve(...args) })[command]();
