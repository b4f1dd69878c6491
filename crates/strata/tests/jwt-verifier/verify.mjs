// Verify a Strata access token with `jose` (an independent JOSE implementation) against the server's JWKS.
// Usage: node verify.mjs JWKS_URL ISSUER TOKEN  → prints the verified payload as JSON, exits 1 if invalid.
import { createRemoteJWKSet, jwtVerify } from "jose";

const [jwksUrl, issuer, token] = process.argv.slice(2);
try {
  const jwks = createRemoteJWKSet(new URL(jwksUrl));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer,
    audience: "strata",
    algorithms: ["EdDSA"],
  });
  console.log(JSON.stringify({ header: protectedHeader, payload }));
} catch (e) {
  console.error(`invalid: ${e.code ?? e.message}`);
  process.exit(1);
}
