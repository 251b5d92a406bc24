// Twilio's official library on hotline's webhooks.
//
//   node check.js sign-json AUTH_TOKEN URL
//       stdin: the JSON body. Prints the URL with the body's bodySHA256 added and the
//       X-Twilio-Signature Twilio's library gives it, as {"url", "signature"}, after checking
//       that the library's own validateRequestWithBody accepts the pair.
'use strict';
const crypto = require('crypto');
const twilio = require('twilio');

async function stdin() {
  let raw = '';
  for await (const chunk of process.stdin) raw += chunk;
  return raw;
}

async function signJson(token, url) {
  const body = await stdin();
  const digest = crypto.createHash('sha256').update(body).digest('hex');
  const signed = new URL(url);
  signed.searchParams.append('bodySHA256', digest);
  const signature = twilio.getExpectedTwilioSignature(token, signed.toString(), {});
  if (!twilio.validateRequestWithBody(token, signature, signed.toString(), body)) {
    throw new Error("Twilio's library refuses its own signature");
  }
  console.log(JSON.stringify({ url: signed.toString(), signature }));
}

const [command, ...args] = process.argv.slice(2);
if (command === 'sign-json') {
  signJson(...args).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  console.error('usage: node check.js sign-json AUTH_TOKEN URL');
  process.exit(2);
}
