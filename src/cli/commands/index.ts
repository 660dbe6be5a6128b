import type { Command } from '../command.js';
import { applyCommand } from './apply.js';
import { bmcCommand } from './bmc.js';
import { daemonCommand } from './daemon.js';
import { labCommand } from './lab.js';
import { maasEmulatorCommand } from './maas-emulator.js';
import { planCommand } from './plan.js';
import { pxeCommand } from './pxe.js';
import { renderCommand } from './render.js';
import { retryCommand } from './retry.js';
import { validateCommand } from './validate.js';

/**
 * Every command, in `gough --help` order. Add a command by importing it here (one line each).
 */
export const COMMANDS: readonly Command[] = [
  validateCommand,
  renderCommand,
  planCommand,
  applyCommand,
  daemonCommand,
  retryCommand,
  bmcCommand,
  maasEmulatorCommand,
  labCommand,
  pxeCommand,
];
