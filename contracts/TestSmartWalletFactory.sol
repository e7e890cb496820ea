// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import "./TestSmartWallet.sol";

/// @title TestSmartWalletFactory — deploys TestSmartWallets at CREATE2 addresses known in advance, so a wallet
/// can sign (EIP-6492) before it exists. For local tests only.
contract TestSmartWalletFactory {
    function deploy(address owner, bytes32 salt) external returns (address wallet) {
        wallet = address(new TestSmartWallet{salt: salt}(owner));
    }

    function predict(address owner, bytes32 salt) external view returns (address) {
        bytes32 codeHash = keccak256(abi.encodePacked(type(TestSmartWallet).creationCode, abi.encode(owner)));
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), salt, codeHash)))));
    }
}
