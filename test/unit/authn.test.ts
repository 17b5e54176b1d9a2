import { expect } from 'chai';
import { authenticateCredentials, cookieValue, type CredentialSource, type TokenAuthenticator } from '../../api/framework/authn.js';
import { ForbiddenError, UnauthorizedError } from '../../src/errors.js';
import type { Principal } from '../../src/users.js';

const SELF = 'https://zcloud.example.com';
const users: TokenAuthenticator = {
  authenticate: async (token: string): Promise<Principal> => {
    if (token === 'good') return { name: 'alice', isAdmin: false, projects: [] };
    throw new UnauthorizedError('invalid token');
  },
};

async function outcome(request: Omit<CredentialSource, 'selfOrigin'>): Promise<string> {
  try {
    return (await authenticateCredentials({ ...request, selfOrigin: SELF }, users)).name;
  } catch (err) {
    if (err instanceof UnauthorizedError) return '401';
    if (err instanceof ForbiddenError) return '403';
    throw err;
  }
}

describe('authenticateCredentials (bearer or web session)', () => {
  const session = { cookie: 'theme=dark; _jwt_session=good; other=1' };
  const json = { 'content-type': 'application/json; charset=utf-8' };

  it('reads one cookie of a Cookie header', () => {
    expect(cookieValue(session.cookie, '_jwt_session')).to.equal('good');
    expect(cookieValue('a=1', '_jwt_session')).to.equal(undefined);
    expect(cookieValue(undefined, '_jwt_session')).to.equal(undefined);
    expect(cookieValue('_jwt_session=%E0%A4%A', '_jwt_session')).to.equal(undefined);
    expect(cookieValue('x_jwt_session=bad; _jwt_session=a%3Db', '_jwt_session')).to.equal('a=b');
  });

  it('takes a bearer token, else the session cookie; neither or a bad one is 401', async () => {
    expect(await outcome({ method: 'GET', headers: { authorization: 'Bearer good' } })).to.equal('alice');
    expect(await outcome({ method: 'GET', headers: session })).to.equal('alice');
    expect(await outcome({ method: 'GET', headers: {} })).to.equal('401');
    expect(await outcome({ method: 'GET', headers: { cookie: '_jwt_session=bad' } })).to.equal('401');
    // A bearer header wins over the cookie, even when it is the bad one.
    expect(await outcome({ method: 'GET', headers: { ...session, authorization: 'Bearer bad' } })).to.equal('401');
  });

  it("serves a session's writes only from zcloud's own origin and as JSON (403 otherwise); a bearer write is not held to it", async () => {
    expect(await outcome({ method: 'POST', headers: { ...session, ...json, origin: SELF } })).to.equal('alice');
    expect(await outcome({ method: 'DELETE', headers: { ...session, ...json, referer: `${SELF}/clusters` } })).to.equal('alice');
    expect(await outcome({ method: 'POST', headers: { ...session, ...json, origin: 'https://evil.example' } })).to.equal('403');
    expect(await outcome({ method: 'POST', headers: { ...session, ...json, origin: 'http://zcloud.example.com' } })).to.equal('403');
    expect(await outcome({ method: 'PUT', headers: { ...session, ...json } })).to.equal('403');
    expect(await outcome({ method: 'POST', headers: { ...session, origin: SELF, 'content-type': 'text/plain' } })).to.equal('403');
    expect(await outcome({ method: 'POST', headers: { ...session, origin: SELF } })).to.equal('403');
    expect(await outcome({ method: 'POST', headers: { authorization: 'Bearer good', origin: 'https://evil.example' } })).to.equal('alice');
    // An invalid session is 401 before its origin is judged.
    expect(await outcome({ method: 'POST', headers: { cookie: '_jwt_session=bad', origin: 'https://evil.example' } })).to.equal('401');
  });
});
