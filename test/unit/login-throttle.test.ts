import { expect } from 'chai';
import { LoginThrottle } from '../../src/auth/login-throttle.js';
import { TooManyRequestsError } from '../../src/errors.js';

describe('LoginThrottle', () => {
  let now = 0;
  const throttle = () => new LoginThrottle({ maxFailuresPerAddress: 3, maxFailuresPerUser: 5, windowMs: 60_000, now: () => now });
  const refusal = (t: LoginThrottle, user: string, address: string): TooManyRequestsError | undefined => {
    try {
      t.check(user, address);
      return undefined;
    } catch (err) {
      expect(err).to.be.instanceOf(TooManyRequestsError);
      return err as TooManyRequestsError;
    }
  };
  beforeEach(() => (now = 1_000_000));

  it('refuses an address at its bound, says when to retry, and lets it in once the failures age out', () => {
    const t = throttle();
    for (let i = 0; i < 3; i += 1) {
      expect(refusal(t, 'admin', '10.0.0.1')).to.equal(undefined);
      t.recordFailure(`user-${i}`, '10.0.0.1');
      now += 1_000;
    }
    expect(refusal(t, 'anyone', '10.0.0.1')?.retryAfterSeconds).to.equal(57);
    expect(refusal(t, 'admin', '10.0.0.2')).to.equal(undefined);
    now += 57_000;
    expect(refusal(t, 'admin', '10.0.0.1')).to.equal(undefined);
  });

  it('refuses a user name guessed at from many addresses; a success clears the name but not the address', () => {
    const t = throttle();
    for (let i = 0; i < 5; i += 1) t.recordFailure('admin', `10.0.1.${i}`);
    expect(refusal(t, 'admin', '10.0.2.1')).to.be.instanceOf(TooManyRequestsError);
    expect(refusal(t, 'bob', '10.0.2.1')).to.equal(undefined);
    t.recordSuccess('admin');
    expect(refusal(t, 'admin', '10.0.2.1')).to.equal(undefined);
    for (let i = 0; i < 3; i += 1) t.recordFailure('carol', '10.0.3.1');
    t.recordSuccess('carol');
    expect(refusal(t, 'carol', '10.0.3.1')).to.be.instanceOf(TooManyRequestsError);
  });

  it('forgets the least recently failed keys beyond its bound', () => {
    const t = new LoginThrottle({ maxFailuresPerAddress: 1, maxFailuresPerUser: 1, windowMs: 60_000, maxTrackedKeys: 4, now: () => now });
    t.recordFailure('u1', 'a1');
    t.recordFailure('u2', 'a2');
    t.recordFailure('u3', 'a3');
    expect(refusal(t, 'x', 'a1')).to.equal(undefined);
    expect(refusal(t, 'x', 'a3')).to.be.instanceOf(TooManyRequestsError);
  });
});
