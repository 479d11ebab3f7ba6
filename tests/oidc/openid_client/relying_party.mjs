// A relying party built on openid-client, driven by tests/oidc/test_openid_client_relying_party.py.
// It reads its settings as JSON from argv[2], prints the authorization URL as one JSON line,
// reads the URL the browser came back to from stdin, and then does what an application
// does: exchange the code (with openid-client's own checks of state, nonce, issuer,
// audience and the ID token's signature from the discovery document's key set), read
// userinfo, refresh, and build the logout URL. Every answer goes out as one JSON line.
import * as client from 'openid-client'
import { createInterface } from 'node:readline'

const settings = JSON.parse(process.argv[2])
const say = (value) => process.stdout.write(JSON.stringify(value) + '\n')

async function main() {
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
  const config = await client.discovery(
    new URL(settings.issuer),
    settings.client_id,
    settings.client_secret || undefined,
    settings.client_secret ? client.ClientSecretBasic(settings.client_secret) : client.None(),
    // The tests' server speaks http on loopback; production issuers are https.
    { execute: [client.allowInsecureRequests] },
  )
  // Check the ID token's signature too, not only its claims (openid-client skips it by
  // default for tokens that came straight from the token endpoint).
  client.enableNonRepudiationChecks(config)
  const verifier = client.randomPKCECodeVerifier()
  const nonce = client.randomNonce()
  const state = client.randomState()
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: settings.redirect_uri,
    scope: settings.scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    nonce,
    state,
  })
  say({ authorization_url: url.href })
  const callback = (await lines.next()).value
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier,
    expectedNonce: nonce,
    expectedState: state,
    idTokenExpected: true,
  })
  const claims = tokens.claims()
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token)
  const logout = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: settings.post_logout_redirect_uri,
    state: 'bye',
  })
  say({
    claims,
    userinfo,
    access_token: tokens.access_token,
    refreshed_access_token: refreshed.access_token,
    rotated: refreshed.refresh_token !== tokens.refresh_token,
    logout_url: logout.href,
  })
}

main().catch((error) => {
  say({ error: `${error.name}: ${error.message}`, code: error.code, cause: String(error.cause ?? '') })
  process.exit(1)
})
