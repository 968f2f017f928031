// A real OAuth 2.0 server for the tests: panva's oidc-provider, pinned by package-lock.json,
// configured to behave like Google's for a Desktop app client.
//
// It listens on 127.0.0.1 on a free port and prints one JSON line on stdout when it is ready:
//   {"ready": true, "port": P, "issuer": "http://127.0.0.1:P", "authorization_endpoint": ..., ...}
// then one JSON line per event the tests count:
//   {"event": "grant.success", "grant_type": "refresh_token", "client_id": "..."}
//   {"event": "grant.error", "error": "invalid_grant", "error_description": "..."}
//   {"event": "mark", "name": "..."}, answering GET /test/mark?name=...
//   {"event": "introspection.refused"}, once for each introspection answered inactive because
//   GET /test/refuse-introspection?count=N asked for the next N to be (a mail server refusing
//   a token that is still valid, as Gmail does when it has its own reasons)
//
// Environment:
//   MAILBRIDGE_OAUTH_MODULES  the node_modules folder holding oidc-provider (.tools/oauth/node_modules)
//   ACCESS_TOKEN_TTL          seconds an access token lives (default 3)
//   TELL_SECRETS              when "1", also {"event": "secret", "kind": ..., "value": ...} for
//                             each access token, refresh token, code and PKCE verifier, so the
//                             redaction test can look for them in mailbridge's output
//
// Consent needs no person: the interaction route logs in the `login_hint` account and grants the
// requested scopes, unless the account is `declines@example.com`, who clicks Cancel.
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = process.env.MAILBRIDGE_OAUTH_MODULES;
if (!modules) {
  console.error('MAILBRIDGE_OAUTH_MODULES is not set: run `cargo xtask test`, which installs oidc-provider into .tools/oauth');
  process.exit(2);
}
// ES modules ignore NODE_PATH, so the package is imported from the folder it was installed into.
const { default: Provider, errors } = await import(
  pathToFileURL(path.join(modules, 'oidc-provider', 'lib', 'index.js')).href
);

const MAIL_SCOPE = 'https://mail.google.com/';
const ACCESS_TOKEN_TTL = Number(process.env.ACCESS_TOKEN_TTL ?? '3');
const DECLINES = 'declines@example.com';

// The clients: Desktop-app-like (native, any loopback port, the secret in the form body).
// `short-lived` has refresh tokens that expire after 2 seconds, like one from a consent screen
// in Testing after its 7 days.
const CLIENTS = [
  { client_id: 'mailbridge-test.apps.example', client_secret: 'test-client-secret' },
  { client_id: 'short-lived.apps.example', client_secret: 'short-lived-secret' },
];
const SHORT_LIVED = 'short-lived.apps.example';

function emit(line) {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

const server = http.createServer();
await new Promise((resolve) => {
  server.listen(0, '127.0.0.1', resolve);
});
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: CLIENTS.map((client) => ({
    ...client,
    application_type: 'native',
    // RFC 8252 7.3: a native client's loopback redirect matches on any port.
    redirect_uris: ['http://127.0.0.1/'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  })),
  scopes: ['openid', 'offline_access', MAIL_SCOPE],
  pkce: { required: () => true },
  // Google issues a refresh token with `access_type=offline` and no `offline_access` scope, and
  // does not rotate it.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: () => false,
  expiresWithSession: async () => false,
  ttl: {
    AccessToken: ACCESS_TOKEN_TTL,
    AuthorizationCode: 60,
    RefreshToken: (_ctx, _token, client) => (client.clientId === SHORT_LIVED ? 2 : 14 * 24 * 3600),
    Grant: 14 * 24 * 3600,
    Interaction: 600,
    Session: 3600,
  },
  features: {
    devInteractions: { enabled: false },
    // A client may revoke and introspect only its own tokens.
    revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
    introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  cookies: { keys: ['mailbridge-test-cookie-key'] },
});

// The next this-many introspections say `active: false`, whatever the token.
let refuseIntrospections = 0;
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/token/introspection' && ctx.status === 200 && refuseIntrospections > 0) {
    refuseIntrospections -= 1;
    ctx.body = { active: false };
    emit({ event: 'introspection.refused' });
  }
});

if (process.env.TELL_SECRETS === '1') {
  for (const kind of ['access_token', 'refresh_token', 'authorization_code']) {
    // Opaque tokens are their jti; stored ones are `saved`, others `issued`.
    for (const when of ['saved', 'issued']) {
      provider.on(`${kind}.${when}`, (token) => emit({ event: 'secret', kind, value: token.jti }));
    }
  }
  provider.on('grant.success', (ctx) => {
    const verifier = ctx.oidc.params.code_verifier;
    if (verifier) emit({ event: 'secret', kind: 'code_verifier', value: verifier });
  });
}

provider.on('grant.success', (ctx) => {
  emit({
    event: 'grant.success',
    grant_type: ctx.oidc.params.grant_type,
    client_id: ctx.oidc.client?.clientId,
  });
});
provider.on('grant.error', (_ctx, error) => {
  emit({ event: 'grant.error', error: error.error, error_description: error.error_description });
});
provider.on('grant.revoked', () => {
  emit({ event: 'grant.revoked' });
});

// The auto-approving interaction: login first, then consent, each a redirect back to the
// authorization endpoint, as a person clicking through would produce.
async function interact(req, res) {
  const { prompt, params, session, grantId } = await provider.interactionDetails(req, res);
  let result;
  if (prompt.name === 'login') {
    result = { login: { accountId: String(params.login_hint ?? 'user@example.com') } };
  } else if (session.accountId === DECLINES) {
    result = { error: 'access_denied', error_description: 'The user declined to give access.' };
  } else {
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    grant.addOIDCScope(String(params.scope ?? ''));
    result = { consent: { grantId: await grant.save() } };
  }
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
server.on('request', (req, res) => {
  // A mark in the event stream: once the test reads it, it has read every event before it.
  if (req.url.startsWith('/test/mark?')) {
    emit({ event: 'mark', name: new URL(req.url, issuer).searchParams.get('name') });
    res.statusCode = 204;
    res.end();
  } else if (req.url.startsWith('/test/refuse-introspection?')) {
    refuseIntrospections = Number(new URL(req.url, issuer).searchParams.get('count') ?? '1');
    res.statusCode = 204;
    res.end();
  } else if (req.url.startsWith('/interaction/')) {
    interact(req, res).catch((error) => {
      const status = error instanceof errors.OIDCProviderError ? error.statusCode : 500;
      res.statusCode = status;
      res.setHeader('Content-Type', 'text/plain');
      res.end(`interaction failed: ${error.message}`);
    });
  } else {
    callback(req, res);
  }
});

emit({
  ready: true,
  port,
  issuer,
  authorization_endpoint: `${issuer}/auth`,
  token_endpoint: `${issuer}/token`,
  revocation_endpoint: `${issuer}/token/revocation`,
  introspection_endpoint: `${issuer}/token/introspection`,
  clients: CLIENTS,
});

// The test closes stdin (or dies) to stop the server.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
