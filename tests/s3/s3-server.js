#!/usr/bin/env node
// Serveur S3 de test : s3rver (npm), qui ne vérifie pas les signatures SigV4, derrière un
// frontal HTTP qui recalcule chaque signature avec une implémentation indépendante (le
// paquet npm aws4) et répond comme S3 : 403 SignatureDoesNotMatch ou InvalidAccessKeyId,
// 400 XAmzContentSHA256Mismatch si le corps ne correspond pas à x-amz-content-sha256.
// Une requête acceptée est transmise telle quelle à s3rver, qui écoute sur un port interne.
//
// Usage : node tests/s3/s3-server.js --port PORT --dir DOSSIER [--bucket backups]
//             [--access-key S3RVER] [--secret-key S3RVER] [--region us-east-1]
// Modules : FIABLE_TEST_NODE_MODULES (ou NODE_PATH) désigne tests/node/node_modules.
//
// Commandes de test, sans signature, sous /__fiable/ :
//   GET  /__fiable/ping                      -> « pong » (le serveur est prêt)
//   POST /__fiable/fail?count=N&status=503   -> les N requêtes S3 suivantes reçoivent ce
//                                               statut (panne passagère simulée)
//   GET  /__fiable/stats                     -> {"accepted":…, "rejected":…, "failed":…}
'use strict';

const crypto = require('crypto');
const http = require('http');
const path = require('path');

const modules = process.env.FIABLE_TEST_NODE_MODULES || '';
const need = (name) => require(modules ? path.join(modules, name) : name);
const aws4 = need('aws4');
const S3rver = need('s3rver');

const MAX_BODY = 512 * 1024 * 1024;
const MAX_SKEW_MS = 15 * 60 * 1000;

function parseArgs(argv) {
  const opts = {
    port: 18090, dir: '', bucket: 'backups', accessKey: 'S3RVER', secretKey: 'S3RVER',
    region: 'us-east-1',
  };
  const names = {
    '--port': 'port', '--dir': 'dir', '--bucket': 'bucket', '--access-key': 'accessKey',
    '--secret-key': 'secretKey', '--region': 'region',
  };
  for (let i = 2; i < argv.length; i += 2) {
    const key = names[argv[i]];
    if (!key || i + 1 >= argv.length) {
      throw new Error('argument inconnu : ' + argv[i]);
    }
    opts[key] = argv[i + 1];
  }
  opts.port = Number(opts.port);
  if (!Number.isInteger(opts.port) || opts.port <= 0 || opts.port > 65535 || !opts.dir) {
    throw new Error('usage : s3-server.js --port PORT --dir DOSSIER [...]');
  }
  return opts;
}

const opts = parseArgs(process.argv);
const stats = { accepted: 0, rejected: 0, failed: 0 };
const failNext = { count: 0, status: 503 };

function log(msg) {
  process.stderr.write(new Date().toISOString() + ' s3-front: ' + msg + '\n');
}

function xmlEscape(s) {
  return String(s).replace(/[<>&"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
}

function s3Error(res, status, code, message, method) {
  const body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>' + xmlEscape(code) +
    '</Code><Message>' + xmlEscape(message) + '</Message></Error>';
  res.writeHead(status, {
    'Content-Type': 'application/xml',
    'Content-Length': method === 'HEAD' ? 0 : Buffer.byteLength(body),
  });
  res.end(method === 'HEAD' ? undefined : body);
}

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

// Checks the request as S3 would; returns null when it may pass, else [status, code, message].
function verify(req, body) {
  const auth = req.headers.authorization;
  if (!auth) {
    return [403, 'AccessDenied', 'Requête sans signature'];
  }
  const m = AUTH.exec(auth);
  if (!m) {
    return [400, 'AuthorizationHeaderMalformed', 'En-tête Authorization mal formé : ' + auth];
  }
  const [, accessKey, date, region, service, signedList, signature] = m;
  if (accessKey !== opts.accessKey) {
    return [403, 'InvalidAccessKeyId', 'Identifiant de clé inconnu : ' + accessKey];
  }
  if (service !== 's3' || region !== opts.region) {
    return [400, 'AuthorizationHeaderMalformed',
      'Portée ' + region + '/' + service + ' ; attendue : ' + opts.region + '/s3'];
  }
  const amzDate = req.headers['x-amz-date'];
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== date) {
    return [403, 'AccessDenied', 'x-amz-date absent ou différent de la portée'];
  }
  const when = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8),
    +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
  if (Math.abs(Date.now() - when) > MAX_SKEW_MS) {
    return [403, 'RequestTimeTooSkewed', 'Horloge trop éloignée'];
  }
  const payloadHash = req.headers['x-amz-content-sha256'];
  if (!payloadHash) {
    return [400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256'];
  }
  if (payloadHash !== 'UNSIGNED-PAYLOAD' &&
      payloadHash !== crypto.createHash('sha256').update(body).digest('hex')) {
    return [400, 'XAmzContentSHA256Mismatch', 'Le corps ne correspond pas à x-amz-content-sha256'];
  }
  const signed = signedList.split(';');
  for (const name of ['host', 'x-amz-date', 'x-amz-content-sha256']) {
    if (!signed.includes(name)) {
      return [403, 'AccessDenied', 'En-tête non signé : ' + name];
    }
  }
  for (const name of Object.keys(req.headers)) {
    if (name.startsWith('x-amz-') && !signed.includes(name)) {
      return [403, 'AccessDenied', 'En-tête x-amz- présent mais non signé : ' + name];
    }
  }
  // The independent computation: exactly the signed headers, the raw path and query.
  const headers = {};
  const include = {};
  for (const name of signed) {
    if (req.headers[name] === undefined) {
      return [403, 'AccessDenied', 'En-tête signé absent : ' + name];
    }
    headers[name] = req.headers[name];
    include[name] = true;
  }
  const signer = new aws4.RequestSigner({
    method: req.method, path: req.url, headers, service: 's3', region,
    extraHeadersToInclude: include,
  }, { accessKeyId: accessKey, secretAccessKey: opts.secretKey });
  // prepareRequest first: it takes the time from x-amz-date; signature() alone would sign
  // with the current time and refuse a request that crossed a second on its way.
  signer.prepareRequest();
  const expected = signer.signature();
  if (signer.signedHeaders() !== signedList ||
      !crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
    return [403, 'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided.'];
  }
  return null;
}

function control(req, res, url) {
  if (url.pathname === '/__fiable/ping') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('pong');
  } else if (url.pathname === '/__fiable/fail' && req.method === 'POST') {
    failNext.count = Number(url.searchParams.get('count') || '1');
    failNext.status = Number(url.searchParams.get('status') || '503');
    res.writeHead(204);
    res.end();
  } else if (url.pathname === '/__fiable/stats') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(stats));
  } else {
    res.writeHead(404);
    res.end();
  }
}

function proxy(req, body, res, backendPort) {
  const out = http.request({
    host: '127.0.0.1', port: backendPort, method: req.method, path: req.url,
    headers: req.headers,
  }, (answer) => {
    res.writeHead(answer.statusCode, answer.headers);
    answer.pipe(res);
  });
  out.on('error', (e) => s3Error(res, 502, 'InternalError', 's3rver : ' + e.message, req.method));
  out.end(body);
}

async function main() {
  const backend = new S3rver({
    address: '127.0.0.1', port: 0, directory: opts.dir, silent: true,
    configureBuckets: [{ name: opts.bucket, configs: [] }],
  });
  const { port: backendPort } = await backend.run();

  const front = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (url.pathname.startsWith('/__fiable/')) {
        control(req, res, url);
        return;
      }
      if (failNext.count > 0) {
        failNext.count--;
        stats.failed++;
        log(req.method + ' ' + req.url + ' -> ' + failNext.status + ' (panne simulée)');
        s3Error(res, failNext.status, failNext.status === 503 ? 'SlowDown' : 'InternalError',
          'Panne simulée par le banc de test', req.method);
        return;
      }
      const refusal = verify(req, body);
      if (refusal) {
        stats.rejected++;
        log(req.method + ' ' + req.url + ' -> ' + refusal[0] + ' ' + refusal[1] + ' : ' + refusal[2]);
        s3Error(res, refusal[0], refusal[1], refusal[2], req.method);
        return;
      }
      stats.accepted++;
      proxy(req, body, res, backendPort);
    });
  });
  front.listen(opts.port, '127.0.0.1', () => {
    log('prêt sur 127.0.0.1:' + opts.port + ' (s3rver sur le port ' + backendPort +
      ', compartiment ' + opts.bucket + ', dossier ' + opts.dir + ')');
  });
  const stop = () => {
    front.close();
    backend.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => {
  log('échec du démarrage : ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
