import { assertSupportedNode } from './node-version';

describe('assertSupportedNode', () => {
  it('lets Node 24 through and stops any other major with one line that says what to do', () => {
    const exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      assertSupportedNode('svc', '24.9.0');
      expect(exit).not.toHaveBeenCalled();
      assertSupportedNode('svc', '20.20.2');
      expect(exit).toHaveBeenCalledWith(1);
      expect(write).toHaveBeenCalledWith(
        expect.stringMatching(/^svc: needs Node\.js 24, found 20\.20\.2\. Run it through npm/),
      );
    } finally {
      exit.mockRestore();
      write.mockRestore();
    }
  });
});
