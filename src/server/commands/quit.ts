import type { CommandHandler } from './command';

export const quitCommand: CommandHandler = {
  name: 'QUIT',
  syntax: '',
  public: true,
  description: 'Say goodbye; the server closes the connection',
  target: () => undefined,
  async run({ channel }) {
    channel.endAfterReply();
    return { code: 200, message: 'Goodbye' };
  },
};
