export const id = 670;
export const ids = [670];
export const modules = {

/***/ 5670:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   readPkcs12: () => (/* binding */ readPkcs12)
/* harmony export */ });
/* harmony import */ var node_forge__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(8542);
/* harmony import */ var node_forge__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_forge__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var _jks_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(7928);


/**
 * Oracle's trusted-key-usage bag attribute (2.16.840.1.113894.746875.1.1): what marks a PKCS#12 certificate as a
 * TrustedCertificateEntry for Java (sun.security.pkcs12.PKCS12KeyStore). node-forge drops attributes it has no name
 * for, so the name is registered once, the way forge registers its own.
 */
const TRUSTED_KEY_USAGE_OID = '2.16.840.1.113894.746875.1.1';
const TRUSTED_KEY_USAGE_NAME = 'oracleTrustedKeyUsage';
const oids = (node_forge__WEBPACK_IMPORTED_MODULE_0___default().pki).oids;
oids[TRUSTED_KEY_USAGE_OID] ??= TRUSTED_KEY_USAGE_NAME;
oids[TRUSTED_KEY_USAGE_NAME] ??= TRUSTED_KEY_USAGE_OID;
/**
 * Certificates of a PKCS#12 store, trying the passwords Java and OpenSSL use by default. The JDK's own cacerts is a
 * password-less PKCS#12 from JDK 18 on (JDK-8275252); `undefined` and '' are the two encodings of "no password".
 */
function readPkcs12(bytes, passwords = [undefined, '', _jks_js__WEBPACK_IMPORTED_MODULE_1__/* .DEFAULT_STORE_PASSWORD */ .yE]) {
    const asn1 = node_forge__WEBPACK_IMPORTED_MODULE_0___default().asn1.fromDer(node_forge__WEBPACK_IMPORTED_MODULE_0___default().util.createBuffer(bytes.toString('binary')));
    let lastError;
    for (const password of passwords) {
        try {
            const p12 = node_forge__WEBPACK_IMPORTED_MODULE_0___default().pkcs12.pkcs12FromAsn1(asn1, false, password);
            const entries = [];
            for (const content of p12.safeContents) {
                for (const bag of content.safeBags) {
                    if (bag.type !== (node_forge__WEBPACK_IMPORTED_MODULE_0___default().pki).oids.certBag)
                        continue;
                    // node-forge types a bag's attributes as `any`: read the one attribute we want defensively.
                    const attributes = bag.attributes;
                    const names = attributes?.friendlyName;
                    const alias = Array.isArray(names) && typeof names[0] === 'string' ? names[0] : '';
                    // Java anchors on a certificate bag with this attribute (keytool -importcert sets it), and on a key's own
                    // certificate (the bag sharing the key's localKeyId); the other certificates only complete chains.
                    const trusted = attributes?.[TRUSTED_KEY_USAGE_NAME] !== undefined || attributes?.localKeyId !== undefined;
                    if (bag.cert) {
                        entries.push({
                            alias,
                            der: Buffer.from(node_forge__WEBPACK_IMPORTED_MODULE_0___default().asn1.toDer(node_forge__WEBPACK_IMPORTED_MODULE_0___default().pki.certificateToAsn1(bag.cert)).getBytes(), 'binary'),
                            trusted,
                        });
                    }
                    else if (bag.asn1) {
                        // forge keeps certificates whose key type it cannot parse (EC, Ed25519) as the raw certificate ASN.1
                        entries.push({ alias, der: Buffer.from(node_forge__WEBPACK_IMPORTED_MODULE_0___default().asn1.toDer(bag.asn1).getBytes(), 'binary'), trusted });
                    }
                }
            }
            return entries;
        }
        catch (error) {
            lastError = error;
        }
    }
    throw new Error(`PKCS#12 store could not be opened with the default passwords: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
}


/***/ })

};
