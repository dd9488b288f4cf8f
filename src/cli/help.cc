#include <iostream>

#include "cli/commands.h"
#include "config/settings_doc.h"

namespace cmr_bridge {

int run_help_command() {
  std::cout
      << "cmr-bridge " CMR_BRIDGE_VERSION
         " - verifies signed Cold Mail Reseller webhooks and publishes them to Kafka\n\n"
         "usage:\n"
         "  cmr-bridge [serve]          run the service (configured by environment)\n"
         "  cmr-bridge sign [--profile P] [--key K | --key-env VAR] [--timestamp T]\n"
         "                  [--scheme S] [--id ID] [--event TYPE] FILE|-\n"
         "                              print the headers a sender of profile P (cmr,\n"
         "                              standard-webhooks, github, stripe) would attach\n"
         "  cmr-bridge send URL [--profile P] [--source NAME] [...the sign options] FILE|-\n"
         "                              sign FILE and POST it to URL (or URL/webhooks/NAME),\n"
         "                              print the response\n"
         "  cmr-bridge check-config     validate the configuration (environment, routes file,\n"
         "                              schemas) without serving; exit 0 or 2\n"
         "  cmr-bridge redrive [--since T] [--until T] [--from-offset N] [--reason R]...\n"
         "                  [--source NAME]... [--dry-run]\n"
         "                              republish dead letters that now pass the schemas and\n"
         "                              routes; one JSON line per record, then a summary\n"
         "  cmr-bridge redrive --from-quarantine DIR [--reason R]... [--source NAME]...\n"
         "                  [--dry-run]\n"
         "                              re-inject a quarantine directory, removing each file\n"
         "                              Kafka acknowledged\n"
         "  cmr-bridge decrypt [--event-id ID] [FILE|-]\n"
         "                              print a record with its encrypted credentials decrypted\n"
         "  cmr-bridge --version | --help\n\n"
         "environment:\n"
      << settings_help();
  std::cout << "\nexit codes: 0 clean shutdown, 1 runtime failure (e.g. port in use, a fatal Kafka "
               "producer error, a topic too small for the body cap), "
               "2 invalid configuration or usage\n";
  return kExitOk;
}

int run_config_doc_command() {
  std::cout << configuration_markdown();
  return kExitOk;
}

int run_version_command() {
  std::cout << "cmr-bridge " CMR_BRIDGE_VERSION "\n";
  return kExitOk;
}

}  // namespace cmr_bridge
