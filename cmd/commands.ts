// Registers every working subcommand, in the order `--help` lists them.
import { registerSubcommand } from "./streamctl.ts";
import { serveCommand } from "./serve.ts";
import { produceCommand } from "./produce.ts";
import { consumeCommand } from "./consume.ts";
import { tailCommand } from "./tail.ts";
import { replayCommand } from "./replay.ts";
import { topicsCommand } from "./topics.ts";
import { groupsCommand } from "./groups.ts";
import { topCommand } from "./top.ts";
import { benchCommand } from "./bench.ts";

registerSubcommand(serveCommand);
registerSubcommand(produceCommand);
registerSubcommand(consumeCommand);
registerSubcommand(tailCommand);
registerSubcommand(replayCommand);
registerSubcommand(topicsCommand);
registerSubcommand(groupsCommand);
registerSubcommand(topCommand);
registerSubcommand(benchCommand);
