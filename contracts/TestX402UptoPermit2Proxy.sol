// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {TestPermit2} from "./TestPermit2.sol";

/// @title TestX402UptoPermit2Proxy — x402's `upto` Permit2 proxy, written for local tests only.
/// @notice The payer's permit names this contract as spender, a maximum amount, and a witness naming the
/// recipient and the one facilitator allowed to settle. That facilitator may move any amount from 1 up to the
/// maximum, once (the Permit2 nonce), to that recipient, not before `validAfter`. Placed (anvil_setCode) at the
/// proxy's canonical address; same ABI as the official one.
contract TestX402UptoPermit2Proxy {
    struct Witness {
        address to;
        address facilitator;
        uint256 validAfter;
    }

    string public constant WITNESS_TYPE_STRING =
        "Witness witness)TokenPermissions(address token,uint256 amount)Witness(address to,address facilitator,uint256 validAfter)";
    bytes32 public constant WITNESS_TYPEHASH = keccak256("Witness(address to,address facilitator,uint256 validAfter)");

    TestPermit2 public immutable PERMIT2;

    event Settled();

    error AmountExceedsPermitted();
    error UnauthorizedFacilitator();
    error InvalidAmount();
    error PaymentTooEarly();
    error InvalidDestination();
    error InvalidOwner();

    constructor(TestPermit2 permit2) {
        PERMIT2 = permit2;
    }

    function settle(
        TestPermit2.PermitTransferFrom calldata permit,
        uint256 amount,
        address owner,
        Witness calldata witness,
        bytes calldata signature
    ) external {
        if (amount > permit.permitted.amount) revert AmountExceedsPermitted();
        if (msg.sender != witness.facilitator) revert UnauthorizedFacilitator();
        if (amount == 0) revert InvalidAmount();
        if (owner == address(0)) revert InvalidOwner();
        if (witness.to == address(0)) revert InvalidDestination();
        if (block.timestamp < witness.validAfter) revert PaymentTooEarly();
        PERMIT2.permitWitnessTransferFrom(
            permit,
            TestPermit2.SignatureTransferDetails({to: witness.to, requestedAmount: amount}),
            owner,
            keccak256(abi.encode(WITNESS_TYPEHASH, witness.to, witness.facilitator, witness.validAfter)),
            WITNESS_TYPE_STRING,
            signature
        );
        emit Settled();
    }
}
