// Minimal test OpenID Provider built on panva's oidc-provider (npm, v9.x).
// Purpose: a REAL, third-party, certified OP that an auth service under test
// can use as its "upstream OAuth2/OIDC provider".
//
// Run:   node op.mjs            (beside the node_modules that setup_op.sh installs)
// Env:   OP_PORT      (default 3000)      listens on 127.0.0.1 only
//        OP_ISSUER    (default http://127.0.0.1:$OP_PORT)
//        OP_CLIENT_ID / OP_CLIENT_SECRET (default "mas" / "mas-secret")
//        OP_REDIRECT_URIS  comma-separated list of allowed redirect URIs
//                          (default http://127.0.0.1:8080/upstream/callback/01H8PKNWKKRPCBW4YGH1RWV279)
//        OP_AUTH_METHOD    token_endpoint_auth_method of the static client
//                          (default client_secret_basic; also client_secret_post,
//                          client_secret_jwt, private_key_jwt, none)
//        OP_AUTH_ALG       its token_endpoint_auth_signing_alg (optional; without it
//                          any of oidc-provider's defaults for the method is accepted:
//                          HS256 for client_secret_jwt, RS256/PS256/ES256/EdDSA for
//                          private_key_jwt)
//        OP_CLIENT_JWKS_URI  the client's jwks_uri, needed by private_key_jwt (the
//                          tests point it at mxauth's /oauth2/keys.json)
//        OP_BACKCHANNEL_URI  turns on OpenID Connect Back-Channel Logout 1.0 and
//                          registers it as the client's backchannel_logout_uri: ending
//                          the OP session POSTs a logout_token there
//        OP_BACKCHANNEL_SESSION_REQUIRED  "0" to leave sid out of the ID and logout
//                          tokens (default: backchannel_logout_session_required is
//                          true, so both carry the OP session's sid)
//        OP_USER           account logged in automatically (default "alice");
//                          an authorization request's login_hint overrides it.
//        OP_MATRIX=1       also issue access tokens carrying the Matrix scopes
//                          (urn:matrix:client:api:*, urn:matrix:client:device:X and the
//                          unstable org.matrix.msc2967 forms) via a resource indicator,
//                          so the OP can stand in for an MSC3861 auth server in tests.
//
// The login/consent "interaction" is auto-completed with HTTP redirects only
// (no HTML form), so a headless client that follows redirects and keeps
// cookies gets from the authorization endpoint to the redirect_uri.
// The logout confirmation page of ${issuer}/session/end submits itself with
// "Yes, sign me out" (a one-line inline script), so a headless browser that
// visits it ends the OP session and, with OP_BACKCHANNEL_URI, triggers the
// back-channel logout before it lands on ${issuer}/session/end/success.
// Dynamic client registration (POST /reg), introspection, revocation,
// refresh tokens (offline_access), PKCE S256 and RP-initiated logout are on.
import http from 'node:http';
import Provider from 'oidc-provider';

const PORT = Number(process.env.OP_PORT || 3000);
const ISSUER = process.env.OP_ISSUER || `http://127.0.0.1:${PORT}`;
const CLIENT_ID = process.env.OP_CLIENT_ID || 'mas';
const CLIENT_SECRET = process.env.OP_CLIENT_SECRET || 'mas-secret';
const REDIRECT_URIS = (process.env.OP_REDIRECT_URIS
  || 'http://127.0.0.1:8080/upstream/callback/01H8PKNWKKRPCBW4YGH1RWV279').split(',');
const AUTH_METHOD = process.env.OP_AUTH_METHOD || 'client_secret_basic';
const DEFAULT_USER = process.env.OP_USER || 'alice';
const AUTH_ALG = process.env.OP_AUTH_ALG || undefined;
const CLIENT_JWKS_URI = process.env.OP_CLIENT_JWKS_URI || undefined;
const BACKCHANNEL_URI = process.env.OP_BACKCHANNEL_URI || undefined;
const BACKCHANNEL_SID = process.env.OP_BACKCHANNEL_SESSION_REQUIRED !== '0';

// The static client. A secret only where the method uses one: for
// client_secret_jwt it is the HMAC key of the client's assertion.
const client = {
  client_id: CLIENT_ID,
  redirect_uris: REDIRECT_URIS,
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: AUTH_METHOD,
};
if (!['private_key_jwt', 'none'].includes(AUTH_METHOD)) client.client_secret = CLIENT_SECRET;
if (AUTH_ALG) client.token_endpoint_auth_signing_alg = AUTH_ALG;
if (CLIENT_JWKS_URI) client.jwks_uri = CLIENT_JWKS_URI;
if (BACKCHANNEL_URI) {
  client.backchannel_logout_uri = BACKCHANNEL_URI;
  client.backchannel_logout_session_required = BACKCHANNEL_SID;
}

// The confirmation page of RP-initiated logout, answered "yes" by itself.
// `form` is oidc-provider's <form id="op.logoutForm"> with its xsrf field;
// the added logout=yes is what the default page's "Yes, sign me out" sends,
// and it makes the OP end the whole session and notify every client in it.
async function logoutSource(ctx, form) {
  ctx.body = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Signing out</title></head>
<body>${form}
<button id="logout-yes" type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<script>document.getElementById('logout-yes').click();</script>
</body></html>`;
}

async function postLogoutSuccessSource(ctx) {
  ctx.body = '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Signed out</title></head><body><p id="signed-out">Signed out of the test OP.</p></body></html>';
}

// Matrix scopes are dynamic (one device scope per session), so the resource
// server's allowed scope list is computed from the request being served.
const MATRIX_RESOURCE = 'urn:matrix:client';
function matrixScopes(ctx) {
  const e = ctx.oidc?.entities || {};
  const pools = [ctx.oidc?.params?.scope, e.AuthorizationCode?.scope, e.RefreshToken?.scope,
    e.Grant?.resources?.[MATRIX_RESOURCE], e.Interaction?.params?.scope];
  const out = new Set();
  for (const p of pools) for (const s of (p || '').split(' ')) if (s.startsWith('urn:matrix:')) out.add(s);
  return [...out].join(' ');
}
function matrixResource() {
  return {
    enabled: true,
    defaultResource: async () => MATRIX_RESOURCE,
    useGrantedResource: async () => true,
    getResourceServerInfo: async (ctx) => ({
      scope: matrixScopes(ctx) || 'urn:matrix:client:api:*',
      accessTokenFormat: 'opaque',
    }),
  };
}

const configuration = {
  clients: [client],
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          preferred_username: id,
          name: `Test ${id}`,
          email: `${id}@example.test`,
          email_verified: true,
        };
      },
    };
  },
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  // Put the requested claims into the ID token too (MAS reads claims from
  // the id_token by default; userinfo is optional there).
  conformIdTokenClaims: false,
  pkce: { required: () => false }, // accept requests with and without PKCE
  features: {
    devInteractions: { enabled: false }, // replaced by the auto-login below
    introspection: { enabled: true },
    revocation: { enabled: true },
    registration: { enabled: true }, // RFC 7591 dynamic client registration at /reg
    rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
    backchannelLogout: { enabled: Boolean(BACKCHANNEL_URI) },
    userinfo: { enabled: true },
    ...(process.env.OP_MATRIX ? { resourceIndicators: matrixResource() } : {}),
  },
  issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token'),
  cookies: { keys: ['test-only-cookie-key-1'] },
  // oidc-provider refuses outgoing requests to special-use addresses (its
  // SSRF guard rides on the `dispatcher` it passes here). This OP only ever
  // talks to the service under test on 127.0.0.1 (jwks_uri, back-channel
  // logout), so the guard is dropped.
  fetch: (url, options) => {
    const { dispatcher, ...rest } = options;
    return globalThis.fetch(url, rest);
  },
  ttl: { AccessToken: 3600, IdToken: 3600, RefreshToken: 86400, Interaction: 600, Session: 86400, Grant: 86400, AuthorizationCode: 60 },
};

const provider = new Provider(ISSUER, configuration);
provider.on('server_error', (ctx, err) => console.error('server_error', err));
// What a failing test wants to see in this log.
for (const event of ['grant.error', 'authorization.error', 'end_session.error', 'userinfo.error']) {
  provider.on(event, (ctx, err) => console.error(event, err?.error || '', err?.error_description || err?.message || err,
    err?.error_detail || '', err?.cause?.message || ''));
}
provider.on('grant.success', (ctx) => console.log(`token issued to ${ctx.oidc.client?.clientId} (${ctx.oidc.client?.tokenEndpointAuthMethod})`));
provider.on('end_session.success', () => console.log('end_session: OP session ended'));
provider.on('backchannel.success', (ctx, c, accountId, sid) => console.log(`backchannel logout delivered to ${c.backchannelLogoutUri} (sub ${accountId}, sid ${sid})`));
provider.on('backchannel.error', (ctx, err, c) => console.error(`backchannel logout to ${c.backchannelLogoutUri} failed:`, err?.message || err));

const callback = provider.callback();

async function autoInteraction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  if (prompt.name === 'login') {
    const accountId = params.login_hint || DEFAULT_USER;
    console.log(`interaction ${details.uid}: auto-login as ${accountId}`);
    return provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
  }
  if (prompt.name === 'consent') {
    let grant = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
    if (!grant) grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    if (missing.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    const grantId = await grant.save();
    console.log(`interaction ${details.uid}: auto-consent ${missing.missingOIDCScope || ''}`);
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  res.statusCode = 400;
  res.end(`unsupported prompt ${prompt.name}`);
}

const server = http.createServer(async (req, res) => {
  console.log(`${req.method} ${req.url.split('?')[0]}`);
  try {
    if (req.method === 'GET' && req.url.startsWith('/interaction/')) {
      await autoInteraction(req, res);
      return;
    }
    callback(req, res);
  } catch (err) {
    console.error(err);
    res.statusCode = 500;
    res.end(String(err));
  }
});

server.listen(PORT, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${ISSUER} (discovery: ${ISSUER}/.well-known/openid-configuration)`);
});
