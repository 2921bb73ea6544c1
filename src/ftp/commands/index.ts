/**
 * Every FTP command of the port, and the table the dispatcher looks verbs
 * up in (aliases included).
 */
import { aborCommand } from './abor';
import { alloCommand } from './allo';
import { appeCommand } from './appe';
import { authCommand } from './auth';
import { cdupCommand } from './cdup';
import type { CommandTable, FtpCommand } from './command';
import { cwdCommand } from './cwd';
import { deleCommand } from './dele';
import { eprtCommand } from './eprt';
import { epsvCommand } from './epsv';
import { featCommand } from './feat';
import { hashCommand } from './hash';
import { helpCommand } from './help';
import { listCommand } from './list';
import { mdtmCommand } from './mdtm';
import { mfmtCommand } from './mfmt';
import { mkdCommand } from './mkd';
import { mlsdCommand } from './mlsd';
import { mlstCommand } from './mlst';
import { modeCommand } from './mode';
import { nlstCommand } from './nlst';
import { noopCommand } from './noop';
import { optsCommand } from './opts';
import { passCommand } from './pass';
import { pasvCommand } from './pasv';
import { pbszCommand } from './pbsz';
import { portCommand } from './port';
import { protCommand } from './prot';
import { pwdCommand } from './pwd';
import { quitCommand } from './quit';
import { restCommand } from './rest';
import { retrCommand } from './retr';
import { rmdCommand } from './rmd';
import { rnfrCommand } from './rnfr';
import { rntoCommand } from './rnto';
import { sizeCommand } from './size';
import { statCommand } from './stat';
import { storCommand } from './stor';
import { stouCommand } from './stou';
import { struCommand } from './stru';
import { systCommand } from './syst';
import { typeCommand } from './type';
import { userCommand } from './user';

/** The commands of the FTP port. */
export const FTP_COMMANDS: readonly FtpCommand[] = [
  userCommand, passCommand, quitCommand, authCommand, pbszCommand, protCommand,
  systCommand, featCommand, optsCommand, helpCommand, noopCommand, statCommand,
  pwdCommand, cwdCommand, cdupCommand,
  typeCommand, modeCommand, struCommand, alloCommand,
  pasvCommand, epsvCommand, portCommand, eprtCommand,
  listCommand, nlstCommand, mlsdCommand, mlstCommand,
  sizeCommand, mdtmCommand, mfmtCommand, hashCommand,
  restCommand, retrCommand, storCommand, stouCommand, appeCommand,
  deleCommand, mkdCommand, rmdCommand, rnfrCommand, rntoCommand,
  aborCommand,
];

/** Look commands up by verb or alias (upper-case). */
export class FtpCommandTable implements CommandTable {
  private readonly byVerb = new Map<string, FtpCommand>();
  readonly verbs: readonly string[];

  constructor(readonly all: readonly FtpCommand[] = FTP_COMMANDS) {
    for (const command of all) {
      for (const verb of [command.verb, ...(command.aliases ?? [])]) this.byVerb.set(verb, command);
    }
    this.verbs = [...this.byVerb.keys()];
  }

  get(verb: string): FtpCommand | undefined {
    return this.byVerb.get(verb);
  }
}
