"""PEM text that looks like a certificate and is not one: the header and footer around bytes that do not decode."""

BROKEN_PEM = "-----BEGIN CERTIFICATE-----\nMIIBnot+a+certificate\n-----END CERTIFICATE-----\n"
