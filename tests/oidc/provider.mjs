// A real OpenID Connect provider for Touchpoint's tests: the OpenID-certified
// `oidc-provider` package, on loopback, with a plain login page of its own.
//
// Usage: node provider.mjs CONFIG.json — CONFIG has {issuer, port, clients,
// keys (private JWKs), accounts_file}. The accounts file maps a login to
// {password, claims: {...}} and is read again at every sign-in, so a test
// changes a person's claims (a new department) by rewriting it.
// Prints "READY <issuer>" once it listens.
import fs from 'node:fs';
import Provider from 'oidc-provider';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const accounts = () => JSON.parse(fs.readFileSync(config.accounts_file, 'utf8'));

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: { keys: config.keys },
  cookies: { keys: ['touchpoint-tests-only'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'department', 'title', 'groups', 'oid'],
  },
  // claims of the granted scopes go into the ID token itself (Touchpoint reads them there)
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const account = accounts()[id];
    if (!account) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...account.claims }; } };
  },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!doctype html><title>Error</title><h1>Error</h1><pre id="error">${escape(JSON.stringify(out))}</pre>`;
  },
});

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(uid, error) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test IdP sign-in</title></head>
<body><main><h1>Test identity provider</h1>
${error ? `<p role="alert" id="idp-error">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="username">Username</label> <input id="username" name="login" type="text" required autofocus>
<label for="secret">Password</label> <input id="secret" name="password" type="password" required>
<button type="submit">Sign in to the test IdP</button>
</form></main></body></html>`;
}

async function formBody(req) {
  let raw = '';
  for await (const chunk of req) raw += chunk;
  return Object.fromEntries(new URLSearchParams(raw));
}

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (!match) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.prompt.name === 'consent') {
    // a first-party application: consent is implied
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    const to = await provider.interactionResult(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return ctx.redirect(to);
  }
  if (ctx.method === 'GET') {
    ctx.type = 'html';
    ctx.body = loginPage(details.uid);
    return undefined;
  }
  const form = await formBody(ctx.req);
  const account = accounts()[form.login];
  if (!account || account.password !== form.password) {
    ctx.status = 400;
    ctx.type = 'html';
    ctx.body = loginPage(details.uid, 'Wrong username or password.');
    return undefined;
  }
  const to = await provider.interactionResult(ctx.req, ctx.res, { login: { accountId: form.login } }, { mergeWithLastSubmission: false });
  return ctx.redirect(to);
});

provider.listen(config.port, '127.0.0.1', () => {
  console.log(`READY ${config.issuer}`);
});
