// Registers every working subcommand, in the order `--help` lists them.
import { registerSubcommand } from "./streamctl.ts";
import { serveCommand } from "./serve.ts";
import { topicsCommand } from "./topics.ts";

registerSubcommand(serveCommand);
registerSubcommand(topicsCommand);
