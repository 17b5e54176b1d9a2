import { expect } from 'chai';
import { closeReason } from '../../api/streaming/stream-socket.js';

describe('stream close reasons (unit)', function () {
  it('keeps a short reason as it is', function () {
    expect(closeReason('the command ended')).to.equal('the command ended');
  });

  it('cuts a long one to the 123 bytes a close frame carries, never inside a character', function () {
    expect(Buffer.byteLength(closeReason('x'.repeat(500)))).to.equal(123);
    const accented = closeReason('é'.repeat(100));
    expect(Buffer.byteLength(accented)).to.equal(122);
    expect(accented).to.equal('é'.repeat(61));
  });
});
