// An external OpenID Provider for the tests: oidc-provider (a certified OpenID Provider),
// started by tests/support/upstream.py. It reads its clients and accounts as JSON from
// argv[2], listens on 127.0.0.1 on a free port, prints {"issuer": ...} as one JSON line when
// ready and exits when stdin closes.
//
// The code flow only, with PKCE (S256) required and a client secret in the Authorization
// header or the form body. Its own sign-in page (not oidc-provider's devInteractions, which
// accept any login): a plain HTML form that needs no JavaScript. Consent is given
// automatically (grantAsked below): every scope and claim a client asks for is granted.
import { createServer } from 'node:http'
import { once } from 'node:events'
import { generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto'
import Provider from 'oidc-provider'

// oidc-provider prints its notices with console.info; stdout carries only the ready line.
console.info = console.error

const settings = JSON.parse(process.argv[2])
const byLogin = new Map(settings.accounts.map((account) => [account.login, account]))
const bySub = new Map(settings.accounts.map((account) => [account.sub, account]))
const FORM_LIMIT = 10_000

function findAccount(_ctx, sub) {
  const account = bySub.get(sub)
  if (account === undefined) return undefined
  return {
    accountId: sub,
    claims: async () => ({
      sub,
      email: account.email,
      email_verified: account.email_verified,
      name: account.name,
      preferred_username: account.login,
    }),
  }
}

// Used in place of loadExistingGrant, which runs once the user is signed in: extend (or
// start) the client's grant with what this request asks for, so consent never prompts.
async function grantAsked(ctx) {
  const { oidc } = ctx
  const { accountId } = oidc.session
  const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId)
  let grant = grantId ? await oidc.provider.Grant.find(grantId) : undefined
  if (grant?.accountId !== accountId) {
    grant = new oidc.provider.Grant({ accountId, clientId: oidc.client.clientId })
  }
  grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(' '))
  grant.addOIDCClaims([...oidc.requestParamClaims])
  await grant.save()
  return grant
}

// A new RS256 signing key at each start (oidc-provider derives its kid).
function signingKeys() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return [{ ...privateKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig' }]
}

const escape = (text) =>
  String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

function loginPage(uid, clientId, { login = '', error = '' } = {}) {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in</title></head>
<body>
<main>
<h1>Sign in to continue to ${escape(clientId)}</h1>
${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="login">Login</label>
<input id="login" name="login" autocomplete="username" required value="${escape(login)}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
`
}

function send(res, status, contentType, body) {
  res.writeHead(status, { 'Content-Type': contentType, 'Cache-Control': 'no-store' })
  res.end(body)
}

async function formOf(req) {
  let body = ''
  for await (const chunk of req) {
    body += chunk
    if (body.length > FORM_LIMIT) throw Object.assign(new Error('form too large'), { status: 413 })
  }
  return new URLSearchParams(body)
}

function passwordMatches(account, password) {
  const expected = Buffer.from(account?.password ?? '')
  const given = Buffer.from(password)
  return account !== undefined && expected.length === given.length && timingSafeEqual(expected, given)
}

// GET /interaction/:uid shows the sign-in form; POST /interaction/:uid/login checks it.
async function interaction(provider, req, res, action) {
  const details = await provider.interactionDetails(req, res)
  if (details.prompt.name !== 'login') {
    throw new Error(`unexpected prompt ${details.prompt.name}: consent is granted automatically`)
  }
  const clientId = details.params.client_id
  if (action === undefined && req.method === 'GET') {
    return send(res, 200, 'text/html; charset=utf-8', loginPage(details.uid, clientId))
  }
  if (action !== '/login' || req.method !== 'POST') {
    return send(res, 405, 'text/plain', 'method not allowed')
  }
  const form = await formOf(req)
  const login = form.get('login') ?? ''
  const account = byLogin.get(login)
  if (!passwordMatches(account, form.get('password') ?? '')) {
    const page = loginPage(details.uid, clientId, { login, error: 'Wrong login or password.' })
    return send(res, 200, 'text/html; charset=utf-8', page)
  }
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: account.sub } },
    { mergeWithLastSubmission: false },
  )
}

async function main() {
  let route
  const server = createServer((req, res) => {
    route(req, res).catch((error) => {
      console.error(error)
      if (!res.headersSent) send(res, error.status ?? 500, 'text/plain', error.message)
      else res.end()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  // The issuer names the port, so the provider is made once the server has one.
  const issuer = `http://127.0.0.1:${server.address().port}`
  const provider = new Provider(issuer, {
    clients: settings.clients.map((client) => ({
      client_id: client.client_id,
      client_secret: client.client_secret,
      redirect_uris: client.redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      // Either secret method is accepted whichever one a client registers.
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    responseTypes: ['code'],
    pkce: { required: () => true },
    scopes: ['openid', 'email', 'profile'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
    },
    // By default the claims of a scope go only to userinfo when an access token is issued;
    // an upstream provider's ID token carries them too.
    conformIdTokenClaims: false,
    findAccount,
    loadExistingGrant: grantAsked,
    features: { devInteractions: { enabled: false }, userinfo: { enabled: true } },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    jwks: { keys: signingKeys() },
  })
  // oidc-provider checks a client's metadata when it is first used; check them all now.
  for (const { client_id: clientId } of settings.clients) await provider.Client.find(clientId)
  const callback = provider.callback()
  const interactions = /^\/interaction\/([^/]+)(\/login)?$/
  route = async (req, res) => {
    const match = interactions.exec(new URL(req.url, issuer).pathname)
    if (match) return interaction(provider, req, res, match[2])
    return callback(req, res)
  }
  process.stdin.on('end', () => process.exit(0))
  process.stdin.resume()
  process.stdout.write(JSON.stringify({ issuer }) + '\n')
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
