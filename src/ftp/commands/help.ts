import { formatHelpForVerb, formatHelpReply } from '../replies';
import type { FtpCommand } from './command';

/** `HELP [verb]` (RFC 959): the verbs, or one verb's syntax; built from the commands' declarations. */
export const helpCommand: FtpCommand = {
  verb: 'HELP',
  syntax: 'HELP [<SP> <command>]',
  public: true,
  argument: 'optional',
  run({ arg, services }) {
    if (arg === '') return { code: 214, formatted: formatHelpReply(services.commands.verbs) };
    const command = services.commands.get(arg.trim().toUpperCase());
    return { code: command ? 214 : 502, formatted: formatHelpForVerb(command?.syntax) };
  },
};
