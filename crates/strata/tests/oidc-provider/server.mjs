// A real OpenID Provider (the certified `oidc-provider` package) for Strata's OAuth2 sign-in tests.
//
//   node server.mjs PORT REDIRECT_URI
//
// One confidential client (`strata-test` / `strata-test-secret`) whose only redirect URI is REDIRECT_URI, and one
// account (`alice`, alice@example.com, verified). Interactions approve that account at once, so a test can run
// the whole authorization code flow with PKCE without a browser. Prints `listening` when ready.
import http from 'node:http';
import Provider from 'oidc-provider';

const [port, redirectUri] = process.argv.slice(2);
if (!port || !redirectUri) {
  console.error('usage: node server.mjs PORT REDIRECT_URI');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const accounts = {
  alice: { sub: 'alice', email: 'alice@example.com', email_verified: true },
};

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'strata-test',
      client_secret: 'strata-test-secret',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  async findAccount(ctx, id) {
    const account = accounts[id];
    return account && { accountId: id, claims: async () => account };
  },
  // Consent is granted by the test's setup: every client gets the scopes it asks for.
  async loadExistingGrant(ctx) {
    const { client, session, params } = ctx.oidc;
    const existing = session.grantIdFor(client.clientId);
    if (existing) return ctx.oidc.provider.Grant.find(existing);
    const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    grant.addOIDCScope(params.scope);
    await grant.save();
    session.grantIdFor(client.clientId, grant.jti);
    return grant;
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
});
provider.proxy = false;

const callback = provider.callback();
const server = http.createServer(async (req, res) => {
  if (req.method === 'GET' && req.url.startsWith('/interaction/')) {
    try {
      // Sign in as alice without a form: what a user typing her password would do.
      await provider.interactionFinished(req, res, { login: { accountId: 'alice' } }, { mergeWithLastSubmission: false });
    } catch (e) {
      res.statusCode = 500;
      res.end(String(e));
    }
    return;
  }
  callback(req, res);
});
server.listen(Number(port), '127.0.0.1', () => console.log('listening'));
