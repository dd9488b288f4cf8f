// What happens to credential fields (passwords, TOTP seeds) in the data published to Kafka;
// CMR_BRIDGE_CREDENTIALS selects it.
#pragma once

namespace cmr_bridge {

enum class CredentialMode { kPassthrough, kRedact, kEncrypt };

}  // namespace cmr_bridge
